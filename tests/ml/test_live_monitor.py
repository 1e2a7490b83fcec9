"""The concurrent monitor: exact for the step it measured, ordered, and never in the way."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import pytest
import torch

from unlearnscope.control import Pause, Resume, Stop
from unlearnscope.events import (
    ErrorEvent,
    EventBase,
    FramesEvent,
    Measurement,
    PhaseEnd,
    StatusEvent,
    StepMetrics,
)
from unlearnscope.ml.checkpoints import FileModelStore
from unlearnscope.ml.engine import Engine
from unlearnscope.ml.engine.governor import Governor
from unlearnscope.ml.kinds import protocol
from unlearnscope.ml.kinds.protocol import frozen_copy
from unlearnscope.ml.monitor import Monitor
from unlearnscope.presets import preset_config
from unlearnscope.states import RunStatus

LIVE = {"budget": 0.5, "frame_every": 1, "tar_every": 1, "eval_every": 2}


@pytest.fixture(autouse=True)
def _keep_torch_threads() -> Any:
    before = torch.get_num_threads()
    yield
    torch.set_num_threads(before)


def make_engine(cache: Path, monitor: dict | None = None, **overrides: Any):
    events: list[EventBase] = []
    cfg = preset_config("tiny", {"monitor": monitor or LIVE, **overrides})
    engine = Engine(cfg, events.append, device="cpu", store=FileModelStore(cache))
    return engine, events


def never_rests(monkeypatch: pytest.MonkeyPatch) -> None:
    """The live monitor works all the time (its governor asks for no rest)."""
    monkeypatch.setattr(Governor, "duty_rest", lambda self, busy: 0.0)
    monkeypatch.setattr(Governor, "probe_pause", lambda self: 0.0)


def live_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "live-monitor"]


def slow_measure(monkeypatch: pytest.MonkeyPatch, seconds: float) -> None:
    """Make every monitor pass slow, so that training moves on while it measures."""
    original = Monitor.measure

    def measure(self: Monitor, model: torch.nn.Module, plan: set[str]):
        out = original(self, model, plan)
        if threading.current_thread().name == "live-monitor":
            time.sleep(seconds)
        return out

    monkeypatch.setattr(Monitor, "measure", measure)


def test_measurements_are_of_the_snapshot_not_of_the_live_model(
    model_cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Record the weights after every step; each live frame must equal a synchronous
    # Grad-CAM of exactly those weights. Reading the live model while training goes on
    # (the monitor is slowed down, so training is always steps ahead) would not.
    slow_measure(monkeypatch, 0.05)
    weights: dict[int, dict[str, torch.Tensor]] = {}
    events: list[EventBase] = []

    def record(e: EventBase) -> None:
        if isinstance(e, StepMetrics):  # emitted right after the step, before the next
            weights[e.step] = {k: v.clone() for k, v in engine.model.state_dict().items()}
        events.append(e)

    engine = Engine(
        preset_config(
            "tiny",
            {
                "monitor": LIVE,
                "schedule": [{"kind": "recovery", "steps": 12, "lr": 0.05, "batch_size": 16}],
            },
        ),
        record,
        device="cpu",
        store=FileModelStore(model_cache),
    )
    assert engine.run() is RunStatus.COMPLETED
    frames = [e for e in events if isinstance(e, FramesEvent) and e.step > 0]
    assert frames and any(e.seq and e.step < engine.step_count for e in frames)
    lagged = [m for m in events if isinstance(m, Measurement) and m.lag > 0]
    assert lagged, "the slowed monitor should have lagged behind training"
    assert engine.monitor is not None
    check = frozen_copy(engine.model)
    for f in frames:
        check.load_state_dict(weights[f.step])
        expected, _ = engine.monitor.cam_pass(check, frames=True, tar=False)
        assert expected is not None
        got = torch.frombuffer(bytearray(f.maps), dtype=torch.uint8).view_as(expected.maps)
        assert (got.int() - expected.maps.int()).abs().max() <= 1, f"step {f.step}"
        assert f.preds == expected.preds.tolist()


def test_live_events_are_gapless_and_placed_by_step(model_cache: Path) -> None:
    engine, events = make_engine(model_cache)
    assert engine.run() is RunStatus.COMPLETED
    assert [e.seq for e in events] == list(range(1, len(events) + 1))
    taken = 0
    for e in events:
        if isinstance(e, StepMetrics):
            taken = e.step
        elif isinstance(e, Measurement | FramesEvent):
            assert e.step <= taken  # never ahead of training
    measured = [m for m in events if isinstance(m, Measurement)]
    evals = sorted(m.step for m in measured if m.ca is not None)
    assert evals == [2, 4, 6, 8]  # ASR/CA at every multiple of eval_every, none skipped
    assert all(m.asr is not None for m in measured if m.ca is not None)
    # everything measured lands before the summary and the final status
    last_measure = max(i for i, e in enumerate(events) if isinstance(e, Measurement))
    assert last_measure < [e.type for e in events].index("run_finished")
    assert not live_threads()


def test_an_early_stop_happens_at_the_same_step_as_without_the_live_monitor(
    model_cache: Path,
) -> None:
    schedule = [
        {"kind": "ascent", "steps": 50, "lr": 0.05, "batch_size": 16, "stop_asr_below": 50.0},
        {"kind": "recovery", "steps": 2, "lr": 0.01, "batch_size": 16},
    ]
    ends = {}
    for budget in (0.0, 0.5):
        engine, events = make_engine(model_cache, {**LIVE, "budget": budget}, schedule=schedule)
        assert engine.run() is RunStatus.COMPLETED
        ends[budget] = [(e.reason, e.step, e.asr) for e in events if isinstance(e, PhaseEnd)]
    assert ends[0.0][0][0] == "early_stop"
    assert ends[0.5] == ends[0.0]  # same step, same ASR: the stop is measured synchronously


def test_pause_edit_and_stop_apply_between_steps_and_leave_no_thread(
    model_cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    slow_measure(monkeypatch, 0.02)
    engine, events = make_engine(
        model_cache, schedule=[{"kind": "recovery", "steps": 500, "lr": 0.01, "batch_size": 16}]
    )
    script: list[tuple[int, Any]] = [
        (3, Pause()),
        (
            3,
            {
                "op": "edit_schedule",
                "request_id": "e1",
                "schedule": [{"kind": "recovery", "steps": 400, "lr": 0.02, "batch_size": 16}],
            },
        ),
        (3, Resume()),
        (6, Stop()),
    ]

    def poll(block: bool) -> list[Any]:
        due = [m for s, m in script if s <= engine.step_count]
        del script[: len(due)]
        return due

    assert engine.run(poll) is RunStatus.STOPPED
    statuses = [e.status for e in events if isinstance(e, StatusEvent)]
    assert statuses[-4:] == ["running", "paused", "running", "stopped"]
    edit = next(e for e in events if e.type == "schedule_edit")
    assert edit.accepted and edit.step == 3
    assert engine.step_count == 6
    assert events[-1].type == "status"  # nothing from the monitor after the stop
    assert not live_threads()


def test_a_crash_in_training_leaves_no_monitor_thread(
    model_cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = protocol.sgd_step  # the weight update of every step of the schedule's kinds
    calls = {"n": 0}

    def failing(*args: Any, **kwargs: Any):
        calls["n"] += 1
        if calls["n"] == 3:
            raise RuntimeError("boom at step 3")
        return real(*args, **kwargs)

    monkeypatch.setattr(protocol, "sgd_step", failing)
    engine, events = make_engine(model_cache)
    assert engine.run() is RunStatus.FAILED
    assert events[-1].type == "status" and events[-1].status == "failed"
    assert not live_threads()


def test_a_failing_monitor_reports_and_training_goes_on(
    model_cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    original = Monitor.measure

    def measure(self: Monitor, model: torch.nn.Module, plan: set[str]):
        if threading.current_thread().name == "live-monitor":
            raise ValueError("monitor broke")
        return original(self, model, plan)

    monkeypatch.setattr(Monitor, "measure", measure)
    engine, events = make_engine(model_cache)
    assert engine.run() is RunStatus.COMPLETED
    errors = [e for e in events if isinstance(e, ErrorEvent)]
    assert errors and not errors[0].fatal and "monitor broke" in errors[0].message
    assert not live_threads()


def _measure_starts_during_phase_end_evaluations(
    model_cache: Path, monkeypatch: pytest.MonkeyPatch
) -> tuple[int, int]:
    """(live measurements started inside a phase end's evaluation, live measurements in
    all): the tiny run with a monitor that works all the time (it never rests) and phase-end
    evaluations slowed to 0.3 s, and every snapshot kept for an exact ASR/CA but measured
    slower than training steps, so work waits at each phase end: a monitor left free
    starts some of it inside the evaluation."""
    starts: list[float] = []
    evals: list[tuple[float, float]] = []
    original_measure, original_evaluate = Monitor.measure, Engine._evaluate

    def measure(self: Monitor, model: torch.nn.Module, plan: set[str]):
        if threading.current_thread().name == "live-monitor":
            starts.append(time.perf_counter())
            time.sleep(0.05)  # slower than training: exact ASR/CA snapshots wait for it
        return original_measure(self, model, plan)

    def evaluate(self: Engine, label: str, *args: Any, **kwargs: Any):
        t0 = time.perf_counter()
        out = original_evaluate(self, label, *args, **kwargs)
        if label.startswith("phase"):
            time.sleep(0.3)
            evals.append((t0, time.perf_counter()))
        return out

    monkeypatch.setattr(Monitor, "measure", measure)
    monkeypatch.setattr(Engine, "_evaluate", evaluate)
    never_rests(monkeypatch)
    engine, _ = make_engine(model_cache, {**LIVE, "budget": 100.0, "eval_every": 1})
    engine.run()
    inside = sum(any(a < t < b for a, b in evals) for t in starts)
    assert evals, "the tiny run's phases end with an evaluation"
    return inside, len(starts)


def test_the_monitor_starts_no_work_while_a_phase_end_is_evaluated(
    model_cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The governor sees steps only: a phase end's evaluation slowed by the monitor would be
    # a cost it never measures, so the engine holds the monitor meanwhile.
    inside, total = _measure_starts_during_phase_end_evaluations(model_cache, monkeypatch)
    assert total > 0 and inside == 0


def test_without_the_hold_the_monitor_would_work_inside_phase_end_evaluations(
    model_cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # the control of the test above: the same run with held() a no-op
    from contextlib import nullcontext

    from unlearnscope.ml.engine.live import LiveMonitor

    monkeypatch.setattr(LiveMonitor, "held", lambda self: nullcontext())
    inside, _ = _measure_starts_during_phase_end_evaluations(model_cache, monkeypatch)
    assert inside > 0


def test_heatmaps_go_on_while_the_monitor_catches_up_on_exact_asr_ca(
    model_cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # every snapshot is kept for an exact ASR/CA (eval_every 1) and the monitor is slower
    # than training, so it is behind all the run: its catching up still makes frames
    slow_measure(monkeypatch, 0.08)
    never_rests(monkeypatch)
    original = Engine._monitor_step

    def slow_step(self: Engine, need_asr: bool):
        time.sleep(0.04)  # training's steps take 40 ms
        return original(self, need_asr)

    monkeypatch.setattr(Engine, "_monitor_step", slow_step)
    training: list[bool] = []  # per frame event: emitted while training still ran
    engine: Engine

    def record(e: EventBase) -> None:
        if isinstance(e, FramesEvent) and e.step > 0:
            training.append(engine.phase_index < len(engine.schedule))

    cfg = preset_config("tiny", {"monitor": {**LIVE, "budget": 100.0, "eval_every": 1}})
    engine = Engine(cfg, record, device="cpu", store=FileModelStore(model_cache))
    engine.run()
    assert sum(training) >= 2, training

