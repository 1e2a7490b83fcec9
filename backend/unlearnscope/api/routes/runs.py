"""Runs: create, list, read, delete, pause/resume/stop, and live schedule edits."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Query, Request, Response, status
from pydantic import Field
from starlette.concurrency import run_in_threadpool

from ... import presets
from ...config import RunConfig
from ...events import MonitorStatus
from ...presets import PRESETS
from ...strict import Strict
from ..deps import RunDep, ServiceDep
from ..errors import InvalidInput
from ..schemas import DB_INT_MAX, ControlOut, RunOut, ScheduleEditIn, ScheduleEditOut

router = APIRouter(prefix="/api/runs", tags=["runs"])

_ERRORS: dict[int | str, dict[str, Any]] = {
    404: {
        "description": "No such run",
        "content": {
            "application/json": {
                "example": {"detail": "no run 'abc'; GET /api/runs lists the runs", "run_id": "abc"}
            }
        },
    },
}
_CONFLICT: dict[int | str, dict[str, Any]] = {
    409: {
        "description": "The run is in the wrong state; nothing changed",
        "content": {
            "application/json": {
                "example": {
                    "detail": "cannot resume run 3f2a9c1b7d4e: it is running; only a paused run "
                    "can be resumed",
                    "state": "running",
                }
            }
        },
    },
}
_CREATE_EXAMPLES: dict[str, Any] = {
    "tiny": {
        "summary": "with ?preset=tiny: a run in seconds (only the changed fields)",
        "value": {"name": "my tiny run", "seed": 1},
    },
    "full": {
        "summary": "a whole RunConfig (fields left out take their defaults)",
        "value": PRESETS["tiny"],
    },
    "bad": {
        "summary": "invalid: answered 422 naming data.image_size",
        "value": {"data": {"image_size": 4}},
    },
}


def config_of(body: RunConfig | None, preset: str | None) -> RunConfig:
    """The body over the preset, through presets.build_config (as the CLI does)."""
    if preset is None:
        return body or RunConfig()
    given = body.model_dump(exclude_unset=True) if body is not None else {}
    try:
        return presets.build_config(preset, given)
    except presets.ConfigError as err:
        if err.fields == ["preset"]:  # the query parameter, not a body field
            line = "query." + err.lines[0]
            raise InvalidInput(line, errors=[line], fields=["query.preset"]) from None
        raise InvalidInput(
            "invalid run config: " + "; ".join(err.lines), errors=err.lines, fields=err.fields
        ) from None


@router.post(
    "",
    response_model=RunOut,
    status_code=status.HTTP_201_CREATED,
    summary="Start a run (it queues when all worker slots are busy)",
    responses={422: {"description": "Invalid config: `errors` names each bad field"}},
)
def create_run(
    service: ServiceDep,
    request: Request,
    response: Response,
    body: Annotated[RunConfig | None, Body(openapi_examples=_CREATE_EXAMPLES)] = None,
    preset: Annotated[
        str | None, Query(description="start from this preset; the body overrides its fields")
    ] = None,
) -> RunOut:
    config = config_of(body, preset or None)  # ?preset= (empty): no preset
    row = service.create(config, request.client.host if request.client else "")
    response.headers["Location"] = f"/api/runs/{row.id}"
    return service.view(row)


@router.get("", response_model=list[RunOut], summary="Runs, newest first")
def list_runs(
    service: ServiceDep,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0, le=DB_INT_MAX)] = 0,
    status: Annotated[str | None, Query(description="only runs with this status")] = None,
) -> list[RunOut]:
    return [service.view(r) for r in service.list_runs(limit, offset, status)]


@router.get("/{run_id}", response_model=RunOut, responses=_ERRORS, summary="One run")
def get_run(run: RunDep, service: ServiceDep) -> RunOut:
    return service.view(run)


@router.delete(
    "/{run_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=_ERRORS,
    summary="Delete a run with its history and files (an active run is stopped first)",
)
async def delete_run(run_id: str, service: ServiceDep) -> Response:
    await service.delete(run_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


def _control_doc(op: str) -> dict[str, Any]:
    return {
        "response_model": ControlOut,
        "responses": {
            **_ERRORS,
            **_CONFLICT,
            202: {
                "description": "Sent, not yet confirmed (the engine is busy preparing)",
                "model": ControlOut,
            },
        },
        "summary": f"{op.capitalize()} a run; answered once the engine applied it",
    }


async def _control(run_id: str, op: str, service: ServiceDep, response: Response) -> ControlOut:
    out = await service.control(run_id, op)
    if not out.applied:
        response.status_code = status.HTTP_202_ACCEPTED
    return out


@router.post("/{run_id}/pause", **_control_doc("pause"))
async def pause_run(run_id: str, service: ServiceDep, response: Response) -> ControlOut:
    return await _control(run_id, "pause", service, response)


@router.post("/{run_id}/resume", **_control_doc("resume"))
async def resume_run(run_id: str, service: ServiceDep, response: Response) -> ControlOut:
    return await _control(run_id, "resume", service, response)


@router.post("/{run_id}/stop", **_control_doc("stop"))
async def stop_run(run_id: str, service: ServiceDep, response: Response) -> ControlOut:
    return await _control(run_id, "stop", service, response)


@router.patch(
    "/{run_id}/schedule",
    response_model=ScheduleEditOut,
    responses={
        **_ERRORS,
        409: {
            "description": "Wrong state, or the engine refused the edit (`reason`); "
            "the schedule is unchanged",
            "content": {
                "application/json": {
                    "example": {
                        "detail": "schedule edit refused: phase 1 (ascent) is already over and "
                        "cannot be changed; edit phase 2 or later",
                        "reason": "phase 1 (ascent) is already over ...",
                        "state": "running",
                        "step": 6,
                        "schedule": [],
                    }
                }
            },
        },
        504: {"description": "The engine did not answer in time"},
    },
    summary="Edit the future phases of a running or paused run",
)
async def edit_schedule(run_id: str, body: ScheduleEditIn, service: ServiceDep) -> ScheduleEditOut:
    """Send the whole new schedule. Phases already over must stay as they are; the
    current phase keeps its kind and may not end before the steps it has run; later
    phases are free. Applied at the engine's next step boundary; the answer says which,
    and the run's step total after it (phases that ended count the steps they took)."""
    event = await service.edit_schedule(run_id, body.schedule)
    row = await run_in_threadpool(service.require, run_id)
    plan = await run_in_threadpool(service.plan, row, event.schedule)
    return ScheduleEditOut(
        accepted=event.accepted,
        step=event.step,
        total_steps=plan["total"],  # the run's total as every view shows it
        schedule=event.schedule,
        seq=event.seq,
    )


class MonitorBudgetIn(Strict):
    """The live monitor's new budget (kept here, beside its one route)."""

    budget: float = Field(gt=0, le=100, description="the most monitoring may slow training, %")


@router.patch(
    "/{run_id}/monitor",
    response_model=MonitorStatus,
    responses={
        **_ERRORS,
        409: {"description": "Wrong state, or the run monitors in the training loop"},
        504: {"description": "The engine did not answer in time"},
    },
    summary="Change the live monitor's budget of a running or paused run",
)
async def set_monitor_budget(
    run_id: str, body: MonitorBudgetIn, service: ServiceDep
) -> MonitorStatus:
    """The most the live monitor may slow training, in percent; applied from its next rest
    on. The answer is its status right after (`slowdown` is still the old estimate)."""
    return await service.set_monitor_budget(run_id, body.budget)
