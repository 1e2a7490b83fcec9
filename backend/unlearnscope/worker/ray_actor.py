"""One run's engine inside a Ray actor: control messages in, events kept until fetched.

`RunActor` is a plain class; `ray_executor` makes it a named, detached, threaded Ray actor
(namespace "unlearnscope", name "run-<id>"). The engine runs on a thread of the actor:

    control(msg)          a control message for the engine (read at its step boundaries)
    poll(after, ...)      the events with seq > `after` (those up to `after` are dropped:
                          the server has stored them), and the `WorkerExit` once the
                          engine has ended and every event was taken
    model_files()         the saved model and its side file, as bytes (back to the server)

The events stay in the actor until a later poll acknowledges them, so a server that
restarts polls again from the last seq it stored and gets every later event once.
Only `ml`, `events`, `control` and `config` are imported here (no Ray: the actor's node
provides it); the actor saves the model on its own node, in a temporary folder.
"""

from __future__ import annotations

import os
import queue
import shutil
import socket
import tempfile
import threading
import traceback
from collections import deque
from pathlib import Path
from typing import Any

from ..control import Control
from ..events import EventBase, RunStarted
from .process import CONTROLS, POLL_BLOCK_S, WorkerExit, WorkerSpec, save_unlearned


def placement(node_id: str, ip: str, device: str) -> str:
    """Where a run runs, in a person's words (short enough for the run's device field)."""
    return f"{device} on {ip} node {node_id[:6]}"


class RunActor:
    def __init__(self, spec: WorkerSpec) -> None:
        self.spec = spec
        self._controls: queue.SimpleQueue[Control | dict[str, Any]] = queue.SimpleQueue()
        self._cond = threading.Condition()
        self._events: deque[EventBase] = deque()
        self._exit: WorkerExit | None = None
        self._thread: threading.Thread | None = None
        self._folder = Path(tempfile.mkdtemp(prefix=f"unlearnscope-{spec.run_id}-"))
        self._node_id, self._ip = self._whereabouts()
        self._device = spec.device

    @staticmethod
    def _whereabouts() -> tuple[str, str]:
        try:
            import ray

            ctx = ray.get_runtime_context()
            util: Any = ray.util  # its functions are untyped
            ip = util.get_node_ip_address()
            return ctx.get_node_id(), str(ip)
        except Exception:  # not in Ray (the contract tests drive the class directly)
            return "local", socket.gethostbyname(socket.gethostname())

    # -- asked by the server -------------------------------------------------------------
    def where(self) -> dict[str, Any]:
        """Node, address, process and the device the engine will use."""
        from ..ml.preparation import resolve_device

        try:
            self._device = str(resolve_device(self.spec.device))
        except ValueError as err:
            self._device = f"{self.spec.device} (unavailable: {err})"
        return {
            "node_id": self._node_id,
            "ip": self._ip,
            "pid": os.getpid(),
            "device": self._device,
            "text": placement(self._node_id, self._ip, self._device),
        }

    def start(self) -> bool:
        """Start the engine once; False when it was started already (a re-attach)."""
        with self._cond:
            if self._thread is not None:
                return False
            self._thread = threading.Thread(target=self._run, name="engine", daemon=True)
            self._thread.start()
            return True

    def control(self, msg: Control | dict[str, Any]) -> None:
        self._controls.put(msg)

    def poll(
        self, after: int, max_events: int = 512, wait_s: float = 0.5
    ) -> tuple[list[EventBase], WorkerExit | None]:
        """Drop events up to `after`; the next ones (waiting up to `wait_s` for one)."""
        with self._cond:
            self._drop(after)
            if not self._events and self._exit is None:
                self._cond.wait(wait_s)
                self._drop(after)
            out = list(self._events)[:max_events]
            done = self._exit if len(out) == len(self._events) else None
            return out, done

    def model_files(self) -> dict[str, bytes]:
        """The saved model (.safetensors) and its side file (.json), by suffix."""
        path = Path(self._local_model_path())
        return {
            suffix: p.read_bytes()
            for suffix, p in ((".safetensors", path), (".json", path.with_suffix(".json")))
            if p.exists()
        }

    def cleanup(self) -> None:
        shutil.rmtree(self._folder, ignore_errors=True)

    # -- the engine thread ---------------------------------------------------------------
    def _drop(self, after: int) -> None:
        while self._events and self._events[0].seq <= after:
            self._events.popleft()

    def _emit(self, event: EventBase) -> None:
        if isinstance(event, RunStarted):  # say where it runs (the page shows the device)
            event = event.model_copy(
                update={"device": placement(self._node_id, self._ip, event.device)}
            )
        with self._cond:
            self._events.append(event)
            self._cond.notify_all()

    def _poll_controls(self, block: bool) -> list[Control | dict[str, Any]]:
        messages: list[Control | dict[str, Any]] = []
        timeout: float | None = POLL_BLOCK_S if block else None
        while True:
            try:
                if timeout:
                    msg = self._controls.get(timeout=timeout)
                else:
                    msg = self._controls.get_nowait()
            except queue.Empty:
                return messages
            if isinstance(msg, CONTROLS | dict):
                messages.append(msg)
            timeout = None

    def _local_model_path(self) -> str:
        return str(self._folder / "model.safetensors")

    def _run(self) -> None:
        spec = self.spec
        state, step, model_path, error = "failed", 0, None, None
        try:
            import torch

            from ..config import RunConfig
            from ..ml.checkpoints import FileModelStore
            from ..ml.engine import Engine

            torch.set_num_threads(spec.torch_threads or 1)
            config = RunConfig.model_validate(spec.config)
            cache = Path(spec.cache_dir)
            engine = Engine(
                config,
                self._emit,
                device=self._device,
                data_dir=spec.data_dir,
                data_cache_dir=cache / "data",
                store=FileModelStore(cache / "models"),
            )
            state = engine.run(self._poll_controls).value
            step = engine.step_count
            if engine.prepared is not None:
                path = Path(self._local_model_path())
                save_unlearned(engine, spec.run_id, state, path)
                model_path = str(path)
        except BaseException as err:
            error = f"{type(err).__name__}: {err}\n{traceback.format_exc()}"
        finally:
            with self._cond:
                self._exit = WorkerExit(state=state, step=step, model_path=model_path, error=error)
                self._cond.notify_all()
