"""The user's own files: upload a model file or a data folder (.zip), list the uploads,
and check a run's model before it starts."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated, Any

from fastapi import APIRouter, File, UploadFile, status
from starlette.concurrency import run_in_threadpool

from ...config import CheckConfig
from ..deps import ServiceDep
from ..schemas import CheckOut, UploadOut

router = APIRouter(prefix="/api", tags=["files"])

_REFUSED: dict[int | str, dict[str, Any]] = {
    413: {"description": "Larger than the server takes (bytes, unpacked bytes, entries)"},
    422: {"description": "Refused: an unsafe or broken archive, an empty file"},
    503: {"description": "The server is read-only"},
    507: {"description": "The disk is full"},
}


@router.post(
    "/files",
    response_model=UploadOut,
    status_code=status.HTTP_201_CREATED,
    responses=_REFUSED,
    summary="Upload a model file (.safetensors, .pt, .pth) or a folder as a .zip; stored by "
    "content hash (the same bytes again reuse the first copy)",
)
async def upload_file(
    service: ServiceDep,
    file: Annotated[UploadFile, File(description="the model file, or a .zip of a folder")],
) -> UploadOut:
    name = file.filename or ""
    stored = await run_in_threadpool(service.upload, name, file.file)
    return UploadOut(**asdict(stored))


@router.get("/files", response_model=list[UploadOut], summary="Uploaded files, newest first")
def list_files(service: ServiceDep) -> list[UploadOut]:
    return [UploadOut(**asdict(u)) for u in service.list_uploads()]


@router.post(
    "/check",
    response_model=CheckOut,
    responses={422: {"description": "The model or the data does not load: `errors` says why"}},
    summary="Load a run's model (model.source file or backdoorbench), classify a sample and "
    "report what was found, before any run starts",
)
async def check_model(service: ServiceDep, body: CheckConfig) -> CheckOut:
    report = await service.check_model(body)
    return CheckOut(**report)
