"""Turning a run's events into files a person can read without the dashboard.

Shared by `unlearnscope run --out DIR` and the server's export zip: metrics as CSV and
JSON, heatmap overlays as PNG, the config and the final model as safetensors.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

from ..events import (
    Evaluation,
    EventBase,
    ForgetSetFound,
    FramesEvent,
    Measurement,
    PhaseVisualEvent,
    ProbesEvent,
    RunFinished,
    RunStarted,
    StepMetrics,
)
from ..ml.overlay import overlay, to_png

STEP_COLUMNS = [
    "step",
    "phase_index",
    "phase_step",
    "kind",
    "loss",
    "ce_loss",
    "ewc_penalty",
    "lr",
    "grad_norm",
    "asr",
    "ca",
    "ra",
    "tar_median",
    "tar_mean",
    "mass_fraction",
    "rank_accuracy",
    "pointing",
    "auc",
    "step_time",
    "monitor_time",
    "t",
]
VARIANTS = ("clean", "triggered")


MEASURED = (
    "asr",
    "ca",
    "ra",
    "tar_median",
    "tar_mean",
    "mass_fraction",
    "rank_accuracy",
    "pointing",
    "auc",
)


def metrics_csv(events: Iterable[EventBase]) -> str:
    """One row per step, columns STEP_COLUMNS; empty cells where not measured.

    The monitor's values come from the `Measurement` events of that step (which may have
    arrived after later steps), merged into the step's row.
    """
    rows: dict[int, dict[str, Any]] = {}
    measured: dict[int, dict[str, Any]] = {}
    for e in events:
        if isinstance(e, StepMetrics):
            rows[e.step] = e.model_dump()
        elif isinstance(e, Measurement):
            got = measured.setdefault(e.step, {})
            got.update({k: getattr(e, k) for k in MEASURED if getattr(e, k) is not None})
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=STEP_COLUMNS, extrasaction="ignore")
    writer.writeheader()
    for step in sorted(rows):
        row = {**rows[step], **measured.get(step, {})}
        writer.writerow({k: ("" if v is None else v) for k, v in row.items()})
    return buf.getvalue()


def metrics_json(config: dict[str, Any], events: Iterable[EventBase]) -> str:
    steps, measurements, evaluations, finished = [], [], [], None
    for e in events:
        if isinstance(e, StepMetrics):
            steps.append(e.model_dump())
        elif isinstance(e, Measurement):
            measurements.append(e.model_dump())
        elif isinstance(e, Evaluation):
            evaluations.append(e.model_dump())
        elif isinstance(e, RunFinished):
            finished = e.model_dump()
    return json.dumps(
        {
            "config": config,
            "evaluations": evaluations,
            "summary": finished,
            "steps": steps,
            "measurements": sorted(measurements, key=lambda m: m["step"]),
        },
        indent=1,
    )


def frame_overlays(
    probes: ProbesEvent, frames: FramesEvent, box: list[int] | None, upscale: int = 4
) -> Iterator[tuple[str, bytes]]:
    """(file name, PNG bytes) of every probe overlay at one step."""
    s, p = probes.size, len(probes.indices)
    images = np.frombuffer(probes.images, np.uint8).reshape(p, 2, s, s, 3)
    maps = np.frombuffer(frames.maps, np.uint8).reshape(frames.count, 2, frames.size, frames.size)
    regions = None  # a non-patch trigger's region per probe, outlined as a contour
    if box is None and probes.region is not None:
        regions = np.frombuffer(probes.region, np.uint8).reshape(p, s, s)
    for i in range(min(p, frames.count)):
        for v, variant in enumerate(VARIANTS):
            region = regions[i] if regions is not None else None
            rgb = overlay(images[i, v], maps[i, v], box=box, upscale=upscale, region=region)
            name = f"step{frames.step:05d}_probe{i}_{probes.indices[i]}_{variant}.png"
            yield name, to_png(rgb)


def visual_pngs(events: Iterable[EventBase], upscale: int = 4) -> Iterator[tuple[str, bytes]]:
    """(file name, PNG) of the last image of each phase's visual (the I-BAU perturbation,
    the recovered trigger, ...), scaled up `upscale` times without smoothing."""
    last: dict[tuple[int, str], PhaseVisualEvent] = {}
    for e in events:
        if isinstance(e, PhaseVisualEvent) and e.image is not None:
            last[(e.phase_index, e.name)] = e
    for (phase, name), e in sorted(last.items()):
        rgb = np.frombuffer(e.image or b"", np.uint8).reshape(e.height, e.width, 3)
        big = rgb.repeat(upscale, axis=0).repeat(upscale, axis=1)
        safe = "".join(c if c.isalnum() or c in "_-" else "_" for c in name)
        yield f"phase{phase + 1}_{e.kind}_{safe}_step{e.step:05d}.png", to_png(big)


def forget_set_csv(events: Iterable[EventBase]) -> str | None:
    """The samples each detection phase flagged (the forget set it handed on), one row each:
    phase (1-based), kind, rank (1 = most suspicious), index into the training set. None
    when no detection phase decided in this run."""
    found = [e for e in events if isinstance(e, ForgetSetFound)]
    if not found:
        return None
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["phase", "kind", "rank", "training_index"])
    for e in found:
        for rank, index in enumerate(e.indices, 1):
            w.writerow([e.phase_index + 1, e.kind, rank, index])
    return buf.getvalue()


def write_run_folder(
    out: Path, config: dict[str, Any], events: list[EventBase], model_file: Path | None = None
) -> list[Path]:
    """Write config.json, metrics.csv, metrics.json, forget_set.csv (after a detection
    phase), frames/*.png, visuals/*.png into `out`."""
    out.mkdir(parents=True, exist_ok=True)
    written = []

    def put(name: str, data: str | bytes) -> None:
        path = out / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data.encode() if isinstance(data, str) else data)
        written.append(path)

    put("config.json", json.dumps(config, indent=2))
    put("metrics.csv", metrics_csv(events))
    put("metrics.json", metrics_json(config, events))
    flagged = forget_set_csv(events)
    if flagged is not None:
        put("forget_set.csv", flagged)
    started = next((e for e in events if isinstance(e, RunStarted)), None)
    probes = next((e for e in events if isinstance(e, ProbesEvent)), None)
    if probes is not None:
        box = started.trigger_box if started else None
        for frames in (e for e in events if isinstance(e, FramesEvent)):
            for name, png in frame_overlays(probes, frames, box):
                put(f"frames/{name}", png)
    for name, png in visual_pngs(events):
        put(f"visuals/{name}", png)
    if model_file is not None:
        written.append(model_file)
    return written


def write_export_zip(
    out: Path,
    config: dict[str, Any],
    events: list[EventBase],
    model_file: Path | None = None,
    folder: str = "run",
) -> Path:
    """The server's export: the files of `write_run_folder` (and the model) as one zip.

    Layout inside the zip: `<folder>/config.json`, `metrics.csv`, `metrics.json`,
    `forget_set.csv` (what detection phases flagged, when one ran),
    `frames/*.png`, `visuals/*.png` (each phase's last defence picture),
    `model.safetensors` (when there is a model). Written to a temporary
    file next to `out`, then renamed, so a reader never sees half a zip.
    """
    import os
    import re
    import zipfile

    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".tmp")
    folder = re.sub(r"[^A-Za-z0-9_.-]+", "_", folder).strip("._") or "run"  # no path tricks
    started = next((e for e in events if isinstance(e, RunStarted)), None)
    probes = next((e for e in events if isinstance(e, ProbesEvent)), None)
    with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr(f"{folder}/config.json", json.dumps(config, indent=2))
        zf.writestr(f"{folder}/metrics.csv", metrics_csv(events))
        zf.writestr(f"{folder}/metrics.json", metrics_json(config, events))
        flagged = forget_set_csv(events)
        if flagged is not None:
            zf.writestr(f"{folder}/forget_set.csv", flagged)
        if probes is not None:
            box = started.trigger_box if started else None
            for frames in (e for e in events if isinstance(e, FramesEvent)):
                for name, png in frame_overlays(probes, frames, box):
                    # PNGs are compressed already
                    zf.writestr(f"{folder}/frames/{name}", png, zipfile.ZIP_STORED)
        for name, png in visual_pngs(events):
            zf.writestr(f"{folder}/visuals/{name}", png, zipfile.ZIP_STORED)
        if model_file is not None and model_file.exists():
            zf.write(model_file, f"{folder}/model.safetensors")
    os.replace(tmp, out)
    return out
