"""The slow demo checks' engine runs, side by side: the shapes demo's backdoored model is
trained once in this process, then each preset's schedule runs in its own process (one torch
thread each, two at a time, one per core), and the tests assert on what each run measured."""

from __future__ import annotations

import multiprocessing
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from unlearnscope.events import Evaluation, PhaseVisualEvent, RunFinished
from unlearnscope.ml.checkpoints import FileModelStore
from unlearnscope.ml.engine import Engine
from unlearnscope.ml.preparation import prepare
from unlearnscope.presets import preset_config
from unlearnscope.states import RunStatus


@dataclass
class DemoRun:
    status: RunStatus
    evaluations: list[Evaluation]
    finished: RunFinished | None
    visuals: int  # PhaseVisual events (a defence's own picture)


def run_preset(preset: str, overrides: dict[str, Any], cache: Path) -> DemoRun:
    torch.set_num_threads(1)
    events: list = []
    cfg = preset_config(preset, overrides)
    status = Engine(cfg, events.append, device="cpu", store=FileModelStore(cache)).run()
    return DemoRun(
        status=status,
        evaluations=[e for e in events if isinstance(e, Evaluation)],
        finished=next((e for e in events if isinstance(e, RunFinished)), None),
        visuals=sum(isinstance(e, PhaseVisualEvent) for e in events),
    )


def run_side_by_side(runs: dict[str, dict[str, Any]], cache: Path) -> dict[str, DemoRun]:
    """{preset: overrides} -> {preset: DemoRun}; the presets share one backdoored model."""
    first = next(iter(runs))
    prepare(preset_config(first, runs[first]), torch.device("cpu"), store=FileModelStore(cache))
    spawn = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=2, mp_context=spawn) as pool:
        futures = {p: pool.submit(run_preset, p, o, cache) for p, o in runs.items()}
        return {p: f.result() for p, f in futures.items()}
