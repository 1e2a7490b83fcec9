"""The governed live monitor on the tiny model: a slow monitor under a small budget still
delivers every exact ASR/CA (late), says what it costs, and takes a new budget live."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import pytest
import torch

from unlearnscope.events import ErrorEvent, EventBase, FramesEvent, Measurement, MonitorStatus
from unlearnscope.ml.checkpoints import FileModelStore
from unlearnscope.ml.engine import Engine
from unlearnscope.ml.monitor import Monitor
from unlearnscope.presets import preset_config
from unlearnscope.states import RunStatus

STEPS = 24
SCHEDULE = [{"kind": "recovery", "steps": STEPS, "lr": 0.01, "batch_size": 16}]


@pytest.fixture(autouse=True)
def _keep_torch_threads() -> Any:
    before = torch.get_num_threads()
    yield
    torch.set_num_threads(before)


def _engine(cache: Path, monitor: dict[str, Any]) -> tuple[Engine, list[EventBase]]:
    events: list[EventBase] = []
    cfg = preset_config("tiny", {"monitor": monitor, "schedule": SCHEDULE})
    return Engine(cfg, events.append, device="cpu", store=FileModelStore(cache)), events


def _slow_monitor(monkeypatch: pytest.MonkeyPatch, seconds: float) -> None:
    original = Monitor.measure

    def measure(self: Monitor, model: torch.nn.Module, plan: set[str]):
        out = original(self, model, plan)
        if threading.current_thread().name == "live-monitor":
            time.sleep(seconds)  # an expensive monitor: long rests under a small budget
        return out

    monkeypatch.setattr(Monitor, "measure", measure)


def test_a_slow_monitor_on_a_small_budget_never_skips_the_exact_asr_ca(
    model_cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _slow_monitor(monkeypatch, 0.1)
    engine, events = _engine(
        model_cache, {"budget": 1.0, "frame_every": 1, "tar_every": 1, "eval_every": 2}
    )
    assert engine.run() is RunStatus.COMPLETED
    measured = [e for e in events if isinstance(e, Measurement)]
    evals = sorted(m.step for m in measured if m.ca is not None)
    assert evals == list(range(2, STEPS + 1, 2))  # every multiple, each exactly once
    status = [e for e in events if isinstance(e, MonitorStatus)]
    assert status and all(s.budget == 1.0 and 0 < s.duty <= 1 for s in status)
    assert status[0].step >= 1 and all(s.behind >= 0 for s in status)
    # the monitor kept to a small part of the run: far fewer frames than steps
    frames = [e for e in events if isinstance(e, FramesEvent) and e.step > 0]
    assert len(frames) < STEPS


def test_the_budget_is_edited_live_and_refused_in_the_loop(model_cache: Path) -> None:
    script = [(3, {"op": "monitor_budget", "budget": 20.0, "request_id": "b1"})]

    def poll(block: bool) -> list[Any]:
        due = [m for s, m in script if s <= engine.step_count]
        del script[: len(due)]
        return due

    engine, events = _engine(model_cache, {"budget": 5.0, "eval_every": 4})
    assert engine.run(poll) is RunStatus.COMPLETED
    answer = next(e for e in events if isinstance(e, MonitorStatus) and e.request_id == "b1")
    assert answer.budget == 20.0 and answer.step == 3
    later = [e for e in events if isinstance(e, MonitorStatus) and e.seq > answer.seq]
    assert all(e.budget == 20.0 for e in later)

    script[:] = [(2, {"op": "monitor_budget", "budget": 20.0, "request_id": "b2"})]
    engine, events = _engine(model_cache, {"budget": 0.0, "eval_every": 4})
    assert engine.run(poll) is RunStatus.COMPLETED
    refused = next(e for e in events if isinstance(e, ErrorEvent) and e.request_id == "b2")
    assert "training loop" in refused.message and not refused.fatal
    assert not any(isinstance(e, MonitorStatus) for e in events)


def test_kept_snapshots_are_never_dropped_the_buffer_grows_and_shrinks_back() -> None:
    from unlearnscope.ml.engine.snapshots import SnapshotBuffer

    model = torch.nn.Linear(4, 2)
    buf = SnapshotBuffer(model, slots=3)
    for step in range(1, 11):  # a monitor far behind: ten exact ASR/CA waiting
        buf.publish(model, step, 0, keep=True)
    assert buf.dropped == 0 and buf.kept_steps() == list(range(1, 11))
    order = []
    while (snap := buf.take(timeout=0)) is not None:
        order.append(snap.step)
        buf.load_into(snap, model)
    assert order == list(range(1, 11)) and len(buf.slots) == 3
