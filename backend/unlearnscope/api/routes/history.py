"""A run's recorded history: the event log, metrics as CSV/JSON, heatmap frames."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query
from fastapi.responses import PlainTextResponse, Response
from pydantic_core import to_json

from ...storage.codec import pack_frame
from ...storage.exports import metrics_csv, metrics_json
from ..deps import RunDep, ServiceDep
from ..errors import NotAvailable
from ..images import frame_png
from ..schemas import DB_INT_MAX, EventsOut, FrameProbeOut, FramesOut, FrameStepsOut

router = APIRouter(prefix="/api/runs/{run_id}", tags=["history"])

FRAME_MAPS_BYTES = 8 * 1024 * 1024  # GET /frames/maps: about this much in one answer
FRAME_MAPS_PAGE = 100  # frames per database read there

_NOT_FOUND: dict[int | str, dict[str, Any]] = {
    404: {"description": "No such run, or nothing recorded there yet"}
}
_PNG: dict[int | str, dict[str, Any]] = {
    200: {"content": {"image/png": {}}, "description": "PNG image"}
}


@router.get(
    "/events",
    response_model=EventsOut,
    responses=_NOT_FOUND,
    summary="The event log after a sequence number",
)
def events(
    run: RunDep,
    service: ServiceDep,
    after: Annotated[
        int, Query(ge=0, le=DB_INT_MAX, description="only events with seq > after")
    ] = 0,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 1000,
    type: Annotated[list[str] | None, Query(description="only these event types")] = None,
) -> Response:
    """Events in order, as the WebSocket sends them (same JSON). Byte fields are not
    inlined: such an event lists its `parts` and gives `bytes_url` for the raw bytes."""
    rows = service.events_after(run.id, after, limit, type, with_bytes=False)
    out = []
    for row in rows:
        item = {**row.header, "run_id": run.id}
        if row.header.get("parts"):
            item["bytes_url"] = f"/api/runs/{run.id}/events/{row.seq}/bytes"
        out.append(item)
    body = {"run_id": run.id, "after": after, "last_seq": run.last_seq, "events": out}
    # Written straight to JSON (NaN and infinities as null, as a validated answer had
    # them), not validated again against EventsOut: the compare view reads twelve runs'
    # whole histories here at once, and the validation took half a 2,000-step answer's time.
    return Response(to_json(body, inf_nan_mode="null"), media_type="application/json")


@router.get(
    "/events/{seq}/bytes",
    responses={**_NOT_FOUND, 200: {"content": {"application/octet-stream": {}}}},
    summary="The raw byte parts of one event, concatenated in `parts` order",
)
def event_bytes(
    run: RunDep, service: ServiceDep, seq: Annotated[int, Path(ge=1, le=DB_INT_MAX)]
) -> Response:
    found = service.event(run.id, seq)
    if found is None or not found.blob:
        raise NotAvailable(f"run {run.id} has no event {seq} with bytes")
    return Response(found.blob, media_type="application/octet-stream")


@router.get(
    "/metrics.csv",
    response_class=PlainTextResponse,
    responses={**_NOT_FOUND, 200: {"content": {"text/csv": {}}}},
    summary="One row per step: loss, ASR, CA, TAR, timings",
)
def metrics_as_csv(run: RunDep, service: ServiceDep) -> Response:
    events = service.load_events(run.id, ["step"])
    return Response(
        metrics_csv(events),
        media_type="text/csv",
        headers={"Content-Disposition": f'inline; filename="{run.id}-metrics.csv"'},
    )


@router.get(
    "/metrics.json",
    responses=_NOT_FOUND,
    summary="Config, evaluations, summary and every step's metrics",
)
def metrics_as_json(run: RunDep, service: ServiceDep) -> Response:
    events = service.load_events(run.id, ["step", "evaluation", "run_finished"])
    return Response(metrics_json(run.config, events), media_type="application/json")


@router.get(
    "/frames",
    response_model=FramesOut | FrameStepsOut,
    responses=_NOT_FOUND,
    summary="Heatmap frames: the steps that have one, or the frame at ?step=N",
)
def frames(
    run: RunDep,
    service: ServiceDep,
    step: Annotated[
        int | None, Query(ge=0, le=DB_INT_MAX, description="the newest frame at or before")
    ] = None,
) -> FramesOut | FrameStepsOut:
    if step is None:
        return FrameStepsOut(steps=service.frame_steps(run.id))
    frame = service.frame_at(run.id, step)
    probes = service.probes(run.id)
    if frame is None or probes is None:
        raise NotAvailable(f"run {run.id} has no heatmap frame at or before step {step}")
    started = service.run_started(run.id)
    base = f"/api/runs/{run.id}/frames/{frame.step}"
    h = frame.header
    items = []
    for i in range(min(frame.count, len(probes.indices))):
        urls = {v: f"{base}/{i}/{v}.png" for v in ("clean", "triggered")}
        items.append(
            FrameProbeOut(
                probe=i,
                index=probes.indices[i],
                label=probes.labels[i],
                pred=h["preds"][i],
                conf=h["confs"][i],
                tar=h["tars"][i],
                overlay=urls,
                heatmap={v: u + "?view=heatmap" for v, u in urls.items()},
                image={v: u + "?view=image" for v, u in urls.items()},
            )
        )
    return FramesOut(
        step=frame.step,
        requested_step=step,
        seq=frame.seq,
        size=frame.size,
        count=frame.count,
        trigger_box=started.trigger_box if started else None,
        maps_url=f"{base}/maps",
        probes=items,
    )


@router.get(
    "/frames/maps",
    responses={**_NOT_FOUND, 200: {"content": {"application/octet-stream": {}}}},
    summary="The raw maps of many heatmap frames in one answer (after a seq, up to ~8 MB)",
)
def frames_maps(
    run: RunDep,
    service: ServiceDep,
    after: Annotated[
        int, Query(ge=0, le=DB_INT_MAX, description="only frames with seq > after")
    ] = 0,
) -> Response:
    """One binary frame (docs/api.md, as the stream's): a JSON header listing each frame's
    `[seq, step]` in `frames` and its maps as part `parts[i]` ((P, 2, H, W) uint8), then
    the maps. At least one frame and about `FRAME_MAPS_BYTES` at most; `more` says whether
    frames follow: ask again with `after` = the last seq. The compare view reads a run's
    maps this way, so its slider finds every frame in memory."""
    frames: list[list[int]] = []
    parts: list[tuple[str, bytes]] = []
    total, more = 0, False
    while True:
        page = service.events_after(run.id, after, FRAME_MAPS_PAGE, ["frames"], True)
        for row in page:
            if total and total + len(row.blob or b"") > FRAME_MAPS_BYTES:
                more = True
                break
            frames.append([row.seq, int(row.header.get("step", 0))])
            parts.append((str(row.seq), row.blob or b""))
            total += len(row.blob or b"")
            after = row.seq
        if more or len(page) < FRAME_MAPS_PAGE:
            break
    header = {
        "run_id": run.id,
        "frames": frames,
        "more": more,
        "parts": [[n, len(b)] for n, b in parts],
    }
    return Response(pack_frame(header, parts), media_type="application/octet-stream")


@router.get(
    "/frames/{step}/maps",
    responses={**_NOT_FOUND, 200: {"content": {"application/octet-stream": {}}}},
    summary="Raw maps of a frame: (P, 2, H, W) uint8, variant 0 clean, 1 triggered",
)
def frame_maps(
    run: RunDep, service: ServiceDep, step: Annotated[int, Path(ge=0, le=DB_INT_MAX)]
) -> Response:
    frame = service.frame_at(run.id, step)
    if frame is None or frame.step != step:
        raise NotAvailable(f"run {run.id} has no heatmap frame at step {step}")
    return Response(
        frame.maps,
        media_type="application/octet-stream",
        headers={"X-Frame-Shape": f"{frame.count},2,{frame.size},{frame.size}"},
    )


@router.get(
    "/frames/{step}/{probe}/{variant}.png",
    response_class=Response,
    responses={**_NOT_FOUND, **_PNG},
    summary="One probe sample at one step: overlay (default), bare heatmap or image",
)
def frame_image(
    run: RunDep,
    service: ServiceDep,
    step: Annotated[int, Path(ge=0, le=DB_INT_MAX)],
    probe: Annotated[int, Path(ge=0, le=DB_INT_MAX)],
    variant: Literal["clean", "triggered"],
    view: Literal["overlay", "heatmap", "image"] = "overlay",
    upscale: Annotated[int, Query(ge=1, le=16)] = 4,
) -> Response:
    frame = service.frame_at(run.id, step)
    probes = service.probes(run.id)
    if frame is None or frame.step != step or probes is None:
        raise NotAvailable(f"run {run.id} has no heatmap frame at step {step}")
    started = service.run_started(run.id)
    try:
        png = frame_png(
            probes, frame, probe, variant, view, started.trigger_box if started else None, upscale
        )
    except IndexError as err:
        raise NotAvailable(str(err)) from None
    return Response(
        png, media_type="image/png", headers={"Cache-Control": "public, max-age=86400, immutable"}
    )
