"""A run taken away: the self-contained HTML report and the animated heatmap clip."""

from __future__ import annotations

import re
from typing import Annotated, Literal

from fastapi import APIRouter, Query
from fastapi.responses import HTMLResponse, Response

from ...report.clip import ClipError, ClipOptions, render_clip
from ...report.html import build_report
from ..deps import RunDep, ServiceDep
from ..errors import NotAvailable

router = APIRouter(prefix="/api/runs/{run_id}", tags=["report"])

_MEDIA = {"gif": "image/gif", "webp": "image/webp"}
PROBES_PATTERN = r"^([0-9]{1,4}(,[0-9]{1,4})*)?$"  # "0,2,5"; empty: all


def _file_name(run: RunDep, suffix: str) -> str:
    name = re.sub(r"[^A-Za-z0-9_.-]+", "_", run.name).strip("._") or "run"
    return f"unlearnscope-{name}-{run.id}.{suffix}"


@router.get(
    "/report.html",
    response_class=HTMLResponse,
    responses={200: {"content": {"text/html": {}}}, 404: {"description": "No such run"}},
    summary="One self-contained HTML file: result, charts, heatmap player, config",
)
def report_html(run: RunDep, service: ServiceDep) -> Response:
    """Opens from disk with no network and no server (Plotly.js and heatmaps embedded).
    Any run has one: a failed run's report says why it failed; an active one shows what
    it has so far."""
    html = build_report(service.facts(run.id))
    return HTMLResponse(
        html, headers={"Content-Disposition": f'inline; filename="{_file_name(run, "html")}"'}
    )


@router.get(
    "/clip.{fmt}",
    response_class=Response,
    responses={
        200: {"content": {"image/gif": {}, "image/webp": {}}},
        404: {"description": "No such run, no heatmap frames recorded, or no such probe"},
    },
    summary="The probe heatmaps over the run as an animation (GIF or WebP)",
)
def clip(
    run: RunDep,
    service: ServiceDep,
    fmt: Literal["gif", "webp"],
    probes: Annotated[
        str | None,
        Query(
            max_length=200,
            pattern=PROBES_PATTERN,
            description="probe numbers, comma-separated, 0-based; empty or left out: all",
        ),
    ] = None,
    fps: Annotated[float, Query(ge=0.5, le=30)] = 6.0,
    width: Annotated[int, Query(ge=320, le=3840)] = 1280,
    height: Annotated[int, Query(ge=180, le=2160)] = 720,
    max_frames: Annotated[int, Query(ge=2, le=1000)] = 150,
) -> Response:
    chosen = [int(p) for p in probes.split(",")] if probes else None
    facts = service.facts(run.id)
    if not facts.frames:
        raise NotAvailable(f"run {run.id} recorded no heatmap frames, so there is no clip")
    options = ClipOptions(chosen, fps, width, height, max_frames)
    try:
        data = render_clip(facts, fmt, options)
    except ClipError as err:  # probes this run does not have (the query's bounds hold)
        raise NotAvailable(str(err)) from None
    return Response(
        data,
        media_type=_MEDIA[fmt],
        headers={"Content-Disposition": f'inline; filename="{_file_name(run, fmt)}"'},
    )
