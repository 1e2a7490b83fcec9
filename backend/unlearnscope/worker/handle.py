"""The server's side of one worker process: start it, send control, read its events.

A reader thread per worker receives the events in batches and hands them to `on_events`
(which persists and fans them out), off the event loop. When the worker's pipe reaches
EOF (it exited, crashed, or was killed) the thread collects the exit code and calls
`on_exit` once, with the worker's own `WorkerExit` message when it managed to send one.
"""

from __future__ import annotations

import logging
import multiprocessing
import signal
import threading
import time
from collections.abc import Callable
from multiprocessing.connection import Connection
from typing import Any

from ..control import Control
from ..events import EventBase
from .process import WorkerExit, WorkerSpec, worker_main

log = logging.getLogger(__name__)

READ_BATCH = 512  # events per hand-over, at most
READ_WINDOW_S = 0.05  # collect a batch for at most this long once events flow

OnEvents = Callable[[str, list[EventBase]], None]
OnExit = Callable[[str, "WorkerExit | None", "int | None"], None]


def describe_exit(code: int | None) -> str:
    """A person's reading of a process exit code."""
    if code is None:
        return "the worker process did not report an exit code"
    if code < 0:
        try:
            name = signal.Signals(-code).name
        except ValueError:
            name = f"signal {-code}"
        hint = " (killed; the out-of-memory killer does this)" if -code == signal.SIGKILL else ""
        return f"the worker process was ended by {name}{hint}"
    return f"the worker process exited with code {code}"


class WorkerHandle:
    def __init__(self, spec: WorkerSpec, on_events: OnEvents, on_exit: OnExit) -> None:
        self.spec = spec
        self.run_id = spec.run_id
        self._on_events = on_events
        self._on_exit = on_exit
        self._ctx = multiprocessing.get_context("spawn")
        self._send_lock = threading.Lock()
        self._control: Connection | None = None
        self._events: Connection | None = None
        self.process: Any = None
        self.exited = threading.Event()
        self.exit_code: int | None = None
        self._reader: threading.Thread | None = None
        # Control messages sent before the process started, delivered when it starts:
        # a stop (or pause) sent while a run is `preparing` is never lost.
        self._backlog: list[Control] = []
        self._start_failed = False

    # -- lifecycle -----------------------------------------------------------------------
    def start(self) -> None:
        control_r, control_w = self._ctx.Pipe(duplex=False)
        events_r, events_w = self._ctx.Pipe(duplex=False)
        self.process = self._ctx.Process(
            target=worker_main,
            args=(self.spec, control_r, events_w),
            name=f"unlearnscope-run-{self.run_id}",
            daemon=True,
        )
        try:
            self.process.start()
        except BaseException:
            with self._send_lock:
                self._start_failed = True
                self._backlog.clear()
            raise
        finally:
            # The child holds its own copies now; closing ours makes its death an EOF here.
            control_r.close()
            events_w.close()
        with self._send_lock:
            self._control, self._events = control_w, events_r
            for msg in self._backlog:  # a pipe buffers them until the engine polls
                try:
                    control_w.send(msg)
                except (BrokenPipeError, EOFError, OSError):
                    break
            self._backlog.clear()
        self._reader = threading.Thread(
            target=self._read, name=f"run-{self.run_id}-events", daemon=True
        )
        self._reader.start()

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process is not None else None

    def alive(self) -> bool:
        return self.process is not None and self.process.is_alive()

    def send(self, msg: Control) -> bool:
        """Hand a control message to the worker (kept until it starts, when it has not
        yet); False when it is gone."""
        with self._send_lock:
            if self.exited.is_set() or self._start_failed:
                return False
            if self._control is None:
                self._backlog.append(msg)
                return True
            try:
                self._control.send(msg)
                return True
            except (BrokenPipeError, EOFError, OSError):
                return False

    @property
    def started(self) -> bool:
        return self._control is not None

    def take_backlog(self) -> list[Control]:
        """The messages waiting for a start that will not come (the launch is cancelled)."""
        with self._send_lock:
            backlog, self._backlog = self._backlog, []
            self._start_failed = True
            return backlog

    def kill(self) -> None:
        if self.alive():
            self.process.kill()

    def wait(self, timeout: float | None = None) -> bool:
        """Wait until the worker exited and its events were handed over."""
        return self.exited.wait(timeout)

    # -- the reader thread ---------------------------------------------------------------
    def _read(self) -> None:
        conn = self._events
        assert conn is not None
        finished: WorkerExit | None = None
        try:
            while True:
                batch: list[Any] = []
                try:
                    if not conn.poll(1.0):
                        continue
                    batch.extend(conn.recv())
                    deadline = time.monotonic() + READ_WINDOW_S
                    while len(batch) < READ_BATCH and time.monotonic() < deadline and conn.poll(0):
                        batch.extend(conn.recv())
                except (EOFError, OSError):
                    if batch:
                        finished = self._deliver(batch) or finished
                    break
                finished = self._deliver(batch) or finished
        finally:
            conn.close()
            self.process.join(10)
            self.exit_code = self.process.exitcode
            with self._send_lock:
                if self._control is not None:
                    self._control.close()
            try:
                self._on_exit(self.run_id, finished, self.exit_code)
            except Exception:
                log.exception("run %s: handling the worker's exit failed", self.run_id)
            finally:
                self.exited.set()

    def _deliver(self, batch: list[Any]) -> WorkerExit | None:
        events = [x for x in batch if isinstance(x, EventBase)]
        finished = next((x for x in batch if isinstance(x, WorkerExit)), None)
        if events:
            try:
                self._on_events(self.run_id, events)
            except Exception:
                log.exception("run %s: storing %d events failed", self.run_id, len(events))
        return finished
