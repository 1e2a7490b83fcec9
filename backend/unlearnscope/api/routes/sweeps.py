"""Sweeps: a grid of runs from one base config; create, list, read, stop."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Query, Request, Response, status
from starlette.concurrency import run_in_threadpool

from ...sweeps import SweepSpec
from ..deps import ServiceDep
from ..schemas import DB_INT_MAX

router = APIRouter(prefix="/api/sweeps", tags=["sweeps"])

_NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"description": "No such sweep"}}

_EXAMPLE: dict[str, Any] = {
    "three schedules x three seeds": {
        "value": {
            "name": "schedules x seeds",
            "preset": "tiny",
            "base": {"monitor": {"eval_every": 2}},
            "grid": {"schedule": ["tiny", "demo", "paper"], "seed": [0, 1, 2]},
        }
    }
}


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    summary="Start a sweep: every grid cell is checked first, then its runs queue",
    responses={
        422: {"description": "A bad cell: `cell` (0-based), `errors` and `fields`"},
        507: {"description": "Disk full: no new run can be stored"},
    },
)
async def create_sweep(
    service: ServiceDep,
    request: Request,
    response: Response,
    body: Annotated[SweepSpec, Body(openapi_examples=_EXAMPLE)],
) -> dict[str, Any]:
    client = request.client.host if request.client else ""
    sweep = await run_in_threadpool(service.create_sweep, body, client)
    response.headers["Location"] = f"/api/sweeps/{sweep['id']}"
    return sweep


@router.get("", summary="Sweeps, newest first (without their runs)")
async def list_sweeps(
    service: ServiceDep,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0, le=DB_INT_MAX)] = 0,
) -> list[dict[str, Any]]:
    return await run_in_threadpool(service.list_sweeps, limit, offset)


@router.get("/{sweep_id}", summary="One sweep with its runs", responses=_NOT_FOUND)
async def get_sweep(sweep_id: str, service: ServiceDep) -> dict[str, Any]:
    return await run_in_threadpool(service.sweep, sweep_id)


@router.post(
    "/{sweep_id}/stop",
    summary="Stop every run of the sweep that has not ended",
    responses=_NOT_FOUND,
)
async def stop_sweep(sweep_id: str, service: ServiceDep) -> dict[str, Any]:
    return await service.stop_sweep(sweep_id)
