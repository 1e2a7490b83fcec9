"""The export zip of a run."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse

from ..deps import ServiceDep

router = APIRouter(prefix="/api/runs/{run_id}", tags=["export"])


@router.get(
    "/export",
    response_class=FileResponse,
    responses={200: {"content": {"application/zip": {}}}, 404: {"description": "No such run"}},
    summary="A zip: config.json, metrics.csv/json, frames/*.png, model.safetensors",
)
async def export_run(run_id: str, service: ServiceDep) -> FileResponse:
    """Built from the stored history; an active run exports what it has so far (its
    model arrives when it ends)."""
    path = await run_in_threadpool(service.export, run_id)
    return FileResponse(path, media_type="application/zip", filename=f"unlearnscope-{run_id}.zip")
