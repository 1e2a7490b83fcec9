"""Finished runs written straight into a store, without training: for the compare
benchmark (2,000-step runs in a second) and for tests that need known numbers.

The event log has the shape an engine writes (status, run_started, probes, the "before"
evaluation and frame, one phase of steps with measurements and heatmap frames, the final
evaluation, run_finished, status completed), with ASR and CA moving smoothly from
`before` to `after` and an attention spot that drifts away from the trigger corner, so a
slider over it visibly changes the heatmaps. The numbers mean nothing beyond that.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..config import RunConfig
from ..events import (
    Evaluation,
    EventBase,
    FramesEvent,
    Measurement,
    PhaseEnd,
    PhaseStart,
    ProbesEvent,
    RunFinished,
    RunStarted,
    StatusEvent,
    StepMetrics,
)
from ..states import RunStatus
from ..storage.runs import RunStore


@dataclass
class SynthRun:
    steps: int = 2000
    before: tuple[float, float] = (98.0, 90.0)  # (ASR, CA) percent
    after: tuple[float, float] = (5.0, 85.0)
    measure_every: int = 10
    frame_every: int = 20
    probes: int = 8
    size: int = 32
    step_seconds: float = 0.05
    model_key: str = "synthetic"
    t0: float = 1_700_000_000.0
    extra_after: dict[str, float] | None = None  # e.g. {"ra": 70.0}: into RunFinished.after


def _curve(start: float, end: float, frac: float) -> float:
    return end + (start - end) * math.exp(-5.0 * frac)


def _maps(spec: SynthRun, step: int, seed: int) -> bytes:
    """(P, 2, S, S) uint8: one Gaussian spot per map, drifting from the trigger corner."""
    s, p = spec.size, spec.probes
    frac = step / max(1, spec.steps)
    yy, xx = np.mgrid[0:s, 0:s].astype(np.float32)
    out = np.empty((p, 2, s, s), dtype=np.uint8)
    rng = np.random.default_rng(seed)
    centers = rng.uniform(0.3 * s, 0.7 * s, size=(p, 2))
    for i in range(p):
        for v in range(2):
            cx, cy = centers[i]
            if v == 1:  # triggered: from the corner (trigger) towards the object
                cx = (s - 3) + (cx - (s - 3)) * frac
                cy = (s - 3) + (cy - (s - 3)) * frac
            d2 = (xx - cx) ** 2 + (yy - cy) ** 2
            out[i, v] = (255 * np.exp(-d2 / (2 * (0.12 * s) ** 2))).astype(np.uint8)
    return out.tobytes()


def synth_events(config: RunConfig, spec: SynthRun, seed: int = 0) -> list[EventBase]:
    """The whole event log of a finished synthetic run."""
    rng = np.random.default_rng(seed)
    s, p = spec.size, spec.probes
    events: list[EventBase] = []
    t = spec.t0

    def add(e: EventBase) -> None:
        e.seq = len(events) + 1
        e.t = t
        events.append(e)

    def evaluation(step: int, label: str, asr: float, ca: float) -> Evaluation:
        return Evaluation(
            step=step,
            label=label,
            ca=ca,
            asr=asr,
            tar_median=1.0 + asr / 25.0,
            tar_mean=1.2 + asr / 25.0,
            mass_fraction=0.05 + asr / 400.0,
            n_clean=1000,
            n_triggered=900,
        )

    def frames(step: int) -> FramesEvent:
        frac = step / max(1, spec.steps)
        fired = [[int(rng.integers(0, 10)), 0 if frac < 0.3 else 1] for _ in range(p)]
        return FramesEvent(
            step=step,
            size=s,
            count=p,
            maps=_maps(spec, step, seed),
            preds=fired,
            confs=[[0.9, 0.8] for _ in range(p)],
            tars=[1.0 + 4.0 * (1 - frac) for _ in range(p)],
        )

    phase = config.schedule[0]
    add(StatusEvent(status=RunStatus.PREPARING, message="synthetic"))
    add(
        RunStarted(
            device="cpu",
            model=config.model.name,
            n_params=1000,
            dataset=config.data.name,
            classes=[f"class {i}" for i in range(10)],
            target_class=config.attack.target_class,
            total_steps=spec.steps,
            schedule=[phase.model_copy(update={"steps": spec.steps}).model_dump()],
            trigger_box=[s - 4, s - 4, s - 1, s - 1],
            image_size=s,
            model_key=spec.model_key,
        )
    )
    images = rng.integers(0, 255, size=(p, 2, s, s, 3), dtype=np.uint8)
    add(
        ProbesEvent(
            indices=list(range(p)),
            labels=[i % 10 for i in range(p)],
            size=s,
            images=images.tobytes(),
        )
    )
    (asr0, ca0), (asr1, ca1) = spec.before, spec.after
    before = evaluation(0, "before", asr0, ca0)
    add(before)
    add(frames(0))
    add(StatusEvent(status=RunStatus.RUNNING))
    add(PhaseStart(phase_index=0, kind=phase.kind, step=0, planned_steps=spec.steps))
    for step in range(1, spec.steps + 1):
        t += spec.step_seconds
        frac = step / spec.steps
        ce = 2.3 * math.exp(-3 * frac) + 0.1 * float(rng.random())
        add(
            StepMetrics(
                step=step,
                phase_index=0,
                phase_step=step,
                kind=phase.kind,
                loss=ce,
                ce_loss=ce,
                ewc_penalty=0.0,
                lr=phase.lr,
                grad_norm=1.0,
                step_time=spec.step_seconds * 0.8,
                monitor_time=0.001,
            )
        )
        if step % spec.measure_every == 0:
            noise = float(rng.normal(0, 0.5))
            asr = _curve(asr0, asr1, frac) + noise
            add(
                Measurement(
                    step=step,
                    phase_index=0,
                    asr=min(100.0, max(0.0, asr)),
                    ca=_curve(ca0, ca1, frac) + noise / 2,
                    tar_median=1.0 + asr / 25.0,
                    tar_mean=1.2 + asr / 25.0,
                    mass_fraction=0.05 + asr / 400.0,
                )
            )
        if step % spec.frame_every == 0:
            add(frames(step))
    add(PhaseEnd(phase_index=0, kind=phase.kind, step=spec.steps, steps=spec.steps))
    final = evaluation(spec.steps, "final", asr1, ca1)
    add(final)

    def summary(e: Evaluation) -> dict[str, float | None]:
        return {"ca": e.ca, "asr": e.asr, "tar_median": e.tar_median, "tar_mean": e.tar_mean}

    after: dict[str, float | None] = {**summary(final), **(spec.extra_after or {})}
    add(
        RunFinished(
            step=spec.steps,
            before=summary(before),
            after=after,
            wall_time=spec.steps * spec.step_seconds,
        )
    )
    add(StatusEvent(status=RunStatus.COMPLETED, message="all phases done", step=spec.steps))
    return events


def store_synth_run(
    store: RunStore, run_id: str, config: RunConfig, spec: SynthRun, seed: int = 0
) -> dict[str, Any]:
    """Write a finished synthetic run into `store`; its row as a dict (id, name, steps)."""
    store.create(run_id, config, RunStatus.QUEUED)
    events = synth_events(config, spec, seed)
    for i in range(0, len(events), 500):
        store.append(run_id, events[i : i + 500])
    return {"id": run_id, "name": config.name, "steps": spec.steps, "events": len(events)}
