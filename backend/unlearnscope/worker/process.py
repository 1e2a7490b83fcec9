"""The worker process: one engine, control messages in, events out, model saved at the end.

`worker_main` is the entry point of a *spawned* process (a fresh interpreter: no forked
CUDA state, no copy of the server). It talks to the server through two one-way pipes:

    control  server -> worker   control messages (`unlearnscope.control`: Pause, Stop, ...)
    events   worker -> server   lists of events, then one `WorkerExit`

The server holds the only other end of each pipe, so when either side dies the other
reads EOF: a worker whose server is gone stops its engine; a server whose worker is
killed (even by SIGKILL) learns it at once and marks that run failed.

Only `ml`, `events`, `control` and `config` are imported here: no web framework, no database.
"""

from __future__ import annotations

import os
import queue
import signal
import threading
import traceback
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..control import (
    Control,
    EditSchedule,
    Inspect,
    MeasurePath,
    Pause,
    Resume,
    SetMonitorBudget,
    Stop,
)

if TYPE_CHECKING:
    from ..ml.engine import Engine

# the members of `Control`
CONTROLS = Pause | Resume | Stop | EditSchedule | Inspect | MeasurePath | SetMonitorBudget
POLL_BLOCK_S = 0.2  # how long poll(block=True) waits for a message while paused
SEND_BATCH = 64  # events per pipe message, at most


def save_unlearned(engine: Engine, run_id: str, state: str, path: Path) -> None:
    """Write a run's unlearned model with what it is: run, config, end state, step and the
    schedule in force (the same file from a local worker process and a Ray actor)."""
    from ..ml.checkpoints import save_model

    save_model(
        engine.model,
        path,
        {
            "run_id": run_id,
            "config": engine.config.model_dump(mode="json"),
            "state": state,
            "step": engine.step_count,
            "schedule": [p.model_dump(mode="json") for p in engine.schedule],
        },
    )


@dataclass(frozen=True)
class WorkerSpec:
    """Everything a worker needs, as plain picklable values."""

    run_id: str
    config: dict[str, Any]  # RunConfig as JSON
    device: str
    data_dir: str | None
    cache_dir: str  # backdoored models and decoded data sets
    model_path: str  # where the final model goes (safetensors)
    torch_threads: int | None = None


@dataclass(frozen=True)
class WorkerExit:
    """The last message of a worker that ended on its own terms."""

    state: str  # the engine's final state
    step: int
    model_path: str | None  # None when no model was built (failed early, or stopped)
    error: str | None = None  # why it failed outside the engine, with the traceback
    cancelled: bool = False  # stopped before its engine started (a Ray run not yet placed)


class EventSender:
    """Sends events from a background thread, so `emit` never waits for the server."""

    _STOP = object()

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.pending: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self.thread = threading.Thread(target=self._run, name="event-sender", daemon=True)
        self.thread.start()

    def put(self, item: Any) -> None:
        self.pending.put(item)

    def _run(self) -> None:
        while True:
            batch = [self.pending.get()]
            while len(batch) < SEND_BATCH:
                try:
                    batch.append(self.pending.get_nowait())
                except queue.Empty:
                    break
            done = batch[-1] is self._STOP
            items = [x for x in batch if x is not self._STOP]
            try:
                if items:
                    self.conn.send(items)
            except (BrokenPipeError, EOFError, OSError):
                return  # the server is gone; the poll side stops the engine
            if done:
                return

    def close(self, timeout: float = 30.0) -> None:
        self.pending.put(self._STOP)
        self.thread.join(timeout)


class ControlReader:
    """`poll(block)` for the engine: the messages waiting on the control pipe (control
    models; a plain dict is passed on too, the engine reads both)."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.parent = os.getppid()
        self.orphaned = False

    def __call__(self, block: bool) -> list[Control | dict[str, Any]]:
        if self.orphaned:
            return [Stop()]
        messages: list[Control | dict[str, Any]] = []
        timeout = POLL_BLOCK_S if block else 0.0
        try:
            while self.conn.poll(timeout):
                msg = self.conn.recv()
                if isinstance(msg, CONTROLS | dict):
                    messages.append(msg)
                timeout = 0.0
        except (EOFError, OSError):
            self.orphaned = True
        if os.getppid() != self.parent:
            self.orphaned = True
        if self.orphaned:
            messages.append(Stop())  # the server is gone: stop, save, exit
        return messages


def worker_main(spec: WorkerSpec, control: Connection, events: Connection) -> None:
    # Ctrl-C in the server's terminal reaches the whole process group; the server
    # decides what happens to its workers, so they ignore it.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    sender = EventSender(events)
    state, step, model_path, error = "failed", 0, None, None
    try:
        import torch

        from ..config import RunConfig
        from ..ml.checkpoints import FileModelStore
        from ..ml.engine import Engine

        if spec.torch_threads:
            torch.set_num_threads(spec.torch_threads)
        config = RunConfig.model_validate(spec.config)
        cache = Path(spec.cache_dir)
        engine = Engine(
            config,
            sender.put,
            device=spec.device,
            data_dir=spec.data_dir,
            data_cache_dir=cache / "data",
            store=FileModelStore(cache / "models"),
        )
        reader = ControlReader(control)
        state = engine.run(reader).value
        step = engine.step_count
        # Completed, stopped or failed: keep what exists. Not when orphaned: the server
        # that would record the last steps is gone, so the run's history ends earlier
        # than the model would, and a model must match the step its run records.
        if engine.prepared is not None and not reader.orphaned:
            path = Path(spec.model_path)
            save_unlearned(engine, spec.run_id, state, path)
            model_path = str(path)
    except BaseException as err:  # anything outside the engine's own error handling
        error = f"{type(err).__name__}: {err}\n{traceback.format_exc()}"
    finally:
        sender.put(WorkerExit(state=state, step=step, model_path=model_path, error=error))
        sender.close()
        events.close()
        control.close()
