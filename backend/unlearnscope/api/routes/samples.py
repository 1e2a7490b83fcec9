"""Sample inspection: one test image under the live or the saved model."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response

from ...storage.codec import pack_frame, split_event
from ..deps import ServiceDep
from ..images import sample_pngs, sample_summary
from ..schemas import DB_INT_MAX, SampleOut

router = APIRouter(prefix="/api/runs/{run_id}", tags=["samples"])


@router.get(
    "/samples/{index}",
    response_model=SampleOut,
    responses={
        200: {
            "content": {"application/octet-stream": {}},
            "description": "JSON, or with ?format=binary the WebSocket's binary frame",
        },
        404: {"description": "No such run, or the model of that step is not kept"},
        409: {"description": "The run's model is not ready (queued or preparing)"},
        422: {"description": "The index is outside the test split"},
        504: {"description": "The worker did not answer in time"},
    },
    summary="Inspect a test sample: images, class probabilities, Grad-CAM overlays, TAR",
)
async def inspect_sample(
    run_id: str,
    service: ServiceDep,
    index: Annotated[int, Path(ge=0, le=DB_INT_MAX, description="index in the run's test split")],
    step: Annotated[
        int | None, Query(ge=0, le=DB_INT_MAX, description="default: the current step")
    ] = None,
    format: Literal["json", "binary"] = "json",
) -> SampleOut | Response:
    """A running or paused run answers from its worker, between two steps, without
    disturbing training; a finished run answers from its saved final model. Overlays
    are given for the predicted, the true and the target class."""
    report, source = await service.inspect(run_id, index, step)
    if format == "binary":
        header, parts = split_event(report)
        header["run_id"] = run_id
        header["source"] = source
        return Response(pack_frame(header, parts), media_type="application/octet-stream")
    started = await run_in_threadpool(service.run_started, run_id)
    box = started.trigger_box if started else None
    images, overlays = await run_in_threadpool(sample_pngs, report, box)
    return SampleOut(
        run_id=run_id,
        index=report.index,
        step=report.step,
        source=source,
        label=report.label,
        target_class=report.target_class,
        classes=started.classes if started else None,
        size=report.size,
        tar=report.tar,
        images=images,
        overlays=overlays,
        **sample_summary(report),
    )


@router.post(
    "/path",
    responses={
        404: {"description": "No such run, or it measured no path"},
        422: {"description": "The worker could not measure it"},
        504: {"description": "The worker did not answer in time"},
    },
    summary="The backdoor-connected path: ASR and CA between the backdoored and the "
    "current weights",
)
async def backdoor_path(run_id: str, service: ServiceDep) -> dict[str, Any]:
    """A running or paused run measures it now, between two steps (`source` "live"); any
    other run answers with the last one it measured, at its last phase end ("stored").
    `alphas` run from 0 (the backdoored model) to 1 (the model now); `asr` and `ca` are
    percentages on the monitor subset."""
    event, source = await service.path(run_id)
    return {"run_id": run_id, "source": source, **event.model_dump()}
