"""The export zip of a run."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse, Response

from ..deps import ServiceDep
from ..errors import NotAvailable

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


@router.get(
    "/forget-set.csv",
    response_class=Response,
    responses={
        200: {"content": {"text/csv": {}}},
        404: {"description": "No such run, or no detection phase has flagged samples yet"},
    },
    summary="The training samples the run's detection phases flagged (its found forget set)",
)
async def forget_set(run_id: str, service: ServiceDep) -> Response:
    """One row per flagged sample: phase, kind, rank (1 = most suspicious) and its index
    into the training set (the data set's order; an image folder's is by class, then file
    name)."""
    text = await run_in_threadpool(service.forget_set, run_id)
    if text is None:
        raise NotAvailable(
            f"run {run_id} has no detected forget set: no detection phase has decided"
        )
    return Response(
        text,
        media_type="text/csv",
        headers={"Content-Disposition": f'attachment; filename="forget-set-{run_id}.csv"'},
    )
