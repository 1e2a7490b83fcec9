"""Several runs side by side, and the leaderboard of defences per backdoored model."""

from __future__ import annotations

import csv
import io
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from ..deps import ServiceDep

router = APIRouter(prefix="/api", tags=["compare"])

CSV_COLUMNS = (
    "rank", "run_id", "name", "status", "differs", "der", "asr_before", "asr_after",
    "ca_before", "ca_after", "ra_after", "tar_before", "tar_after", "retention", "steps",
    "wall_time", "steps_to_asr10", "asr_retuned", "ca_retuned", "der_retuned", "asr_qra",
    "qra_alone", "verdict", "passed",
)  # fmt: skip


IDS_PATTERN = r"^[^,]+(,[^,]+){1,11}$"  # 2 to 12 comma-separated ids (MIN/MAX_COMPARE)


@router.get(
    "/compare",
    summary="What the compare view needs: diffs, seed groups, headlines",
    responses={
        404: {"description": "One of the runs does not exist"},
        422: {"description": "Fewer than 2 distinct runs (one run given twice)"},
    },
)
async def compare(
    service: ServiceDep,
    ids: Annotated[
        str,
        Query(
            max_length=2000,
            pattern=IDS_PATTERN,
            description="2 to 12 distinct run ids, comma-separated",
        ),
    ],
) -> dict[str, Any]:
    """For the runs `ids`: the runs, `diff` ({config path: [value per run]} of the fields
    that are not equal), `labels` (per run, what differs, in words), `seed_groups` (runs
    that differ only in seed), `model_keys`, `headline` (ASR/CA/RA/TAR before and after,
    retention, DER, steps, wall time, steps until ASR < 10%) and whether they share probe
    samples."""
    return await run_in_threadpool(service.compare, ids.split(","))


@router.get(
    "/leaderboard",
    summary="Defences ranked by DER (by DER after re-tuning when runs measured it; then "
    "ASR, CA) per backdoored model; without model_key, the models",
    responses={
        200: {"content": {"application/json": {}, "text/csv": {}}},
        404: {"description": "No run unlearned a model with this key (`model_key`)"},
    },
)
async def leaderboard(
    service: ServiceDep,
    model_key: Annotated[
        str | None, Query(max_length=64, description="the backdoored model's cache key")
    ] = None,
    format: Annotated[Literal["json", "csv"], Query(description="json or csv")] = "json",
) -> Any:
    if model_key is None:
        models = await run_in_threadpool(service.model_keys)
        return {"models": models}
    board = await run_in_threadpool(service.leaderboard, model_key)
    if format == "csv":
        return Response(
            leaderboard_csv(board["entries"]),
            media_type="text/csv",
            headers={"Content-Disposition": f'inline; filename="leaderboard-{model_key}.csv"'},
        )
    return board


def leaderboard_csv(entries: list[dict[str, Any]]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=CSV_COLUMNS, extrasaction="ignore")
    writer.writeheader()
    for e in entries:
        verdict = e.get("verdict") or {}
        row = {**e, "verdict": verdict.get("label"), "passed": verdict.get("passed")}
        writer.writerow({k: "" if row.get(k) is None else row.get(k) for k in CSV_COLUMNS})
    return out.getvalue()
