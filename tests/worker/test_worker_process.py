"""A run in a real spawned worker process: events out, control in, model saved, deaths seen."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

from safetensors.torch import load_file

from unlearnscope.control import Pause, Stop
from unlearnscope.events import EventBase, StatusEvent, StepMetrics
from unlearnscope.presets import preset_config
from unlearnscope.worker.handle import WorkerHandle, describe_exit
from unlearnscope.worker.process import WorkerExit, WorkerSpec

TIMEOUT = 90  # seconds; a tiny run takes a few


class Recorder:
    def __init__(self) -> None:
        self.events: list[EventBase] = []
        self.exit: Any = None  # (WorkerExit | None, exit code | None) once it ended
        self.step_seen = threading.Event()

    def on_events(self, run_id: str, events: list[EventBase]) -> None:
        self.events += events
        if any(isinstance(e, StepMetrics) for e in events):
            self.step_seen.set()

    def on_exit(self, run_id: str, finished: WorkerExit | None, code: int | None) -> None:
        self.exit = (finished, code)


def _spec(tmp_path: Path, cache: Path, recovery_steps: int) -> WorkerSpec:
    config = preset_config(
        "tiny",
        {
            "schedule": [
                {"kind": "ascent", "steps": 2, "lr": 0.01, "batch_size": 16, "ewc_lambda": 10.0},
                {"kind": "recovery", "steps": recovery_steps, "lr": 0.01, "batch_size": 16},
            ]
        },
    )
    return WorkerSpec(
        run_id="r1",
        config=config.model_dump(mode="json"),
        device="cpu",
        data_dir=None,
        cache_dir=str(cache),
        model_path=str(tmp_path / "r1" / "model.safetensors"),
        torch_threads=1,
    )


def test_a_stopped_worker_saves_its_model_and_reports_in_order(tmp_path, warm_cache) -> None:
    rec = Recorder()
    handle = WorkerHandle(_spec(tmp_path, warm_cache, 10_000), rec.on_events, rec.on_exit)
    handle.start()
    assert rec.step_seen.wait(TIMEOUT), "no step event from the worker"
    assert handle.send(Stop())
    assert handle.wait(TIMEOUT)
    assert rec.exit is not None
    finished, code = rec.exit
    assert code == 0 and finished is not None and finished.state == "stopped"
    assert [e.seq for e in rec.events] == list(range(1, len(rec.events) + 1))
    last = rec.events[-1]
    assert isinstance(last, StatusEvent) and last.status == "stopped"
    weights = load_file(finished.model_path)  # safetensors, loadable without pickle
    assert weights and Path(finished.model_path).parent == tmp_path / "r1"
    assert not handle.send(Pause())  # gone: sending says so


def test_sigkill_is_seen_at_once_with_the_signal_named(tmp_path, warm_cache) -> None:
    rec = Recorder()
    handle = WorkerHandle(_spec(tmp_path, warm_cache, 10_000), rec.on_events, rec.on_exit)
    handle.start()
    assert rec.step_seen.wait(TIMEOUT)
    assert handle.pid is not None
    os.kill(handle.pid, signal.SIGKILL)
    assert handle.wait(15), "the reader did not notice the dead worker"
    finished, code = rec.exit
    assert finished is None and code == -signal.SIGKILL
    assert "SIGKILL" in describe_exit(code)
    seqs = [e.seq for e in rec.events]
    assert seqs == list(range(1, len(seqs) + 1))  # what arrived is whole and in order


def test_the_worker_module_imports_no_web_or_database_package() -> None:
    code = (
        "import sys, unlearnscope.worker.process, unlearnscope.worker.handle;"
        "bad=[m for m in ('fastapi','starlette','uvicorn','sqlalchemy') if m in sys.modules];"
        "print(bad); sys.exit(1 if bad else 0)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr
