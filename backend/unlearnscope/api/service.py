"""The run service: what the routes ask for, in domain terms.

It ties the pieces together: the store (runs and their event log), the pool (which run
gets a worker when), the workers (one process per run) and the hub (fan-out to clients).

Threads: each worker's reader thread calls `_on_events` / `_on_exit`, which persist first
and then hand the encoded events to the event loop (`call_soon_threadsafe`), where the hub
and the waiters live. Persist-then-publish means a client that subscribes and then reads
the history from the database misses nothing.
"""

from __future__ import annotations

import asyncio
import logging
import shutil
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .. import __version__
from ..config import PhaseConfig, RunConfig
from ..events import (
    ErrorEvent,
    EventBase,
    PhaseStart,
    SampleReport,
    ScheduleEdit,
    StatusEvent,
    StepMetrics,
)
from ..settings import Settings
from ..states import ACTIVE_STATUSES, TERMINAL_STATUSES, RunStatus
from ..storage.artifacts import ArtifactFiles, saved_step
from ..storage.db import Database, is_disk_full
from ..storage.exports import write_export_zip
from ..storage.runs import RunStore
from ..storage.tables import RunRow
from ..worker.handle import WorkerHandle, describe_exit
from ..worker.inspector import SavedRunCache
from ..worker.pool import RunPool
from ..worker.process import WorkerExit, WorkerSpec
from .errors import (
    DiskFull,
    EditRefused,
    EngineTimeout,
    InvalidInput,
    NotAvailable,
    ReadOnly,
    RunNotFound,
    TooManyQueued,
    WrongState,
)
from .hub import CLOSE_DELETED, CLOSE_GOING_AWAY, Hub
from .limits import check_data_root, check_limits
from .schemas import ControlOut, RunOut
from .wire import TERMINAL, encode_event

log = logging.getLogger(__name__)

LIST_STEP_INTERVAL = 1.0  # seconds: at most one step update per run on the run list

CONTROL_OPS = ("pause", "resume", "stop")
ALLOWED: dict[str, tuple[RunStatus, ...]] = {
    "pause": (RunStatus.PREPARING, RunStatus.RUNNING),
    "resume": (RunStatus.PAUSED,),
    "stop": (RunStatus.QUEUED, RunStatus.PREPARING, RunStatus.RUNNING, RunStatus.PAUSED),
}
TARGET = {"pause": "paused", "resume": "running", "stop": "stopped"}
HINTS = {
    "pause": "only a preparing or running run can be paused",
    "resume": "only a paused run can be resumed",
    "stop": "only a queued or active run can be stopped",
}


DISK_FULL = "disk full while storing events"
MIB = 1024 * 1024


class LaunchCancelled(Exception):
    """A stop arrived before the run's worker started: it never starts."""


@dataclass
class _Waiter:
    match: Callable[[EventBase], bool]
    future: asyncio.Future[EventBase]


def new_run_id() -> str:
    return uuid.uuid4().hex[:12]


def home_write_problem(home: Path) -> str | None:
    """None when a file can be written in `home`, else why not."""
    try:
        with tempfile.NamedTemporaryFile(dir=home, prefix=".write-check-"):
            pass
    except OSError as err:
        return f"{type(err).__name__}: {err.strerror or err}"
    return None


class RunService:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.db = Database(settings.db_url)
        self.store = RunStore(self.db)
        self.files = ArtifactFiles(settings.artifacts_dir)
        self.hub = Hub(settings.ws_max_pending, settings.ws_max_frames)
        self.pool = RunPool(settings.max_active_runs, self._launch)
        self.saved = SavedRunCache(settings.data_dir, settings.cache_dir / "data")
        self.version = __version__
        self.device = settings.device  # resolved at start
        self._workers: dict[str, WorkerHandle] = {}
        self._lock = threading.Lock()
        self._export_locks: dict[str, threading.Lock] = {}
        self._waiters: dict[str, list[_Waiter]] = {}
        self._phases: dict[str, tuple[int, str]] = {}  # run -> (index, kind) of its phase
        self._list_sent: dict[str, float] = {}  # run -> monotonic time of its last list update
        self._deleting: set[str] = set()
        self._shutting_down = False
        self._loop: asyncio.AbstractEventLoop | None = None
        # Control messages for runs the pool is launching before their worker handle
        # exists; handed to the handle (or cancelling the launch) in `_launch`.
        self._mailbox: dict[str, list[dict[str, Any]]] = {}
        self._interrupting: set[str] = set()  # runs stopped because the server shuts down
        self._owners: dict[str, str] = {}  # run -> client address that created it
        # Runs whose state the database could not take (disk full) or that a read-only
        # server cannot mark: (status, message) shown instead of the stored one.
        self._overrides: dict[str, tuple[RunStatus, str]] = {}
        self.disk_full: str | None = None  # why new runs are refused (507), while so
        self.read_only: str | None = None  # why the server serves its history read-only

    # -- lifecycle -----------------------------------------------------------------------
    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        await asyncio.to_thread(self._recover)

    def _recover(self) -> None:
        """Tables; runs a dead server left active become `interrupted`; queued ones requeue.

        A home the server cannot write (a read-only mount) does not stop it: it serves the
        history read-only, and says so (health, the log, the answer to any change).
        """
        # Importing torch takes seconds: resolve the device without holding up start-up.
        threading.Thread(target=self._resolve_device, name="resolve-device", daemon=True).start()
        try:
            self.db.create_all()
            self.settings.artifacts_dir.mkdir(parents=True, exist_ok=True)
            problem = home_write_problem(self.settings.home)
        except Exception as err:  # PermissionError, OperationalError (read-only database)
            problem = f"{type(err).__name__}: cannot write the database"
            log.error("the database cannot be written: %s", err)
        if problem is not None:
            self._go_read_only(problem)
            return
        for run_id in self.store.ids_with_status(ACTIVE_STATUSES):
            row = self.store.get(run_id)
            was = row.status if row else "active"
            message = f"the server stopped while this run was {was}; its history up to then is kept"
            message += self._drop_mismatched_model(run_id, row.step if row else 0)
            self.store.set_status(run_id, RunStatus.INTERRUPTED, message)
            log.warning("run %s was %s when the server last stopped: interrupted", run_id, was)
        for run_id in self.store.ids_with_status([RunStatus.QUEUED]):
            self.pool.submit(run_id)

    def _go_read_only(self, problem: str) -> None:
        self.read_only = (
            f"the server's home folder cannot be written ({problem}); the history is served "
            "read-only: runs cannot be started, changed or deleted"
        )
        log.error("%s", self.read_only)
        self.pool.close()
        self.db.dispose()
        self.db = Database(self.settings.db_url, read_only=True)
        self.store = RunStore(self.db)
        try:
            for run_id in self.store.ids_with_status(ACTIVE_STATUSES):
                self._overrides[run_id] = (
                    RunStatus.INTERRUPTED,
                    "the server stopped while this run was active (read-only server)",
                )
        except Exception as err:  # no database at all yet
            log.error("the database cannot be read either: %s", err)

    def _drop_mismatched_model(self, run_id: str, recorded: int) -> str:
        """Remove a saved model whose step is not the run's recorded step (a worker
        orphaned by a killed server trained on past the history); '' when none is."""
        path = self.files.model_path(run_id)
        step = saved_step(path) if path.exists() else None
        if step is None or step == recorded:
            return ""
        for p in (path, path.with_suffix(".json")):
            p.unlink(missing_ok=True)
        log.warning(
            "run %s: dropped a model saved at step %s (history: %s)", run_id, step, recorded
        )
        return f"; a model saved at step {step}, past the recorded step {recorded}, was discarded"

    def _resolve_device(self) -> None:
        try:
            from ..ml.preparation import resolve_device

            self.device = str(resolve_device(self.settings.device))
        except ValueError as err:
            self.device = f"{self.settings.device} (unavailable: {err})"
            log.error("device: %s", err)

    async def shutdown(self) -> None:
        """Stop every worker (each saves its model), mark their runs interrupted."""
        self._shutting_down = True
        self.pool.close()
        with self._lock:
            handles = list(self._workers.values())
        for handle in handles:
            self._interrupting.add(handle.run_id)
            handle.send({"op": "stop"})
        deadline = time.monotonic() + self.settings.stop_grace
        for handle in handles:
            left = max(0.1, deadline - time.monotonic())
            if not await asyncio.to_thread(handle.wait, left):
                log.warning("run %s: the worker did not stop in time; killing it", handle.run_id)
                handle.kill()
                await asyncio.to_thread(handle.wait, 5.0)
        self.hub.close_all(CLOSE_GOING_AWAY, "the server is shutting down")
        self._loop = None
        self.db.dispose()

    # -- thread -> loop ------------------------------------------------------------------
    def _in_loop(self, fn: Callable[..., Any], *args: Any) -> None:
        loop = self._loop
        if loop is None or loop.is_closed():
            return
        try:
            loop.call_soon_threadsafe(fn, *args)
        except RuntimeError:  # the loop closed in between
            pass

    def _publish_run(self, row: RunRow | None) -> None:
        """Tell run-list clients about a new or changed run (from any thread)."""
        if row is not None:
            message = {"type": "run", "run": self.view(row).model_dump(mode="json")}
            self._in_loop(self.hub.publish_runs, message)

    def _publish_queue(self) -> None:
        for run_id in self.pool.positions():
            self._publish_run(self.store.get(run_id))

    # -- runs ----------------------------------------------------------------------------
    def patched(self, row: RunRow) -> RunRow:
        """The row as clients should see it (a state the database could not take)."""
        override = self._overrides.get(row.id)
        if override is not None and RunStatus(row.status) not in TERMINAL_STATUSES:
            status, message = override
            row.status, row.message = status.value, message
            if status is RunStatus.FAILED:
                row.error = message
        return row

    def view(self, row: RunRow) -> RunOut:
        row = self.patched(row)
        return RunOut(
            id=row.id,
            name=row.name,
            status=row.status,
            message=row.message or "",
            error=row.error,
            step=row.step,
            total_steps=row.total_steps,
            queue_position=self.pool.position(row.id),
            created_at=row.created_at,
            started_at=row.started_at,
            finished_at=row.finished_at,
            last_seq=row.last_seq,
            device=row.device,
            schedule=row.schedule,
            summary=row.summary,
            exit_code=row.exit_code,
            config=row.config,
            phase_index=self._phases.get(row.id, (None, None))[0],
            phase_kind=self._phases.get(row.id, (None, None))[1],
        )

    def require(self, run_id: str) -> RunRow:
        row = self.store.get(run_id)
        if row is None:
            raise RunNotFound(run_id)
        return self.patched(row)

    def require_writable(self) -> None:
        if self.read_only:
            raise ReadOnly(self.read_only)

    def _check_disk(self) -> None:
        """DiskFull (507) while the disk is full: after a failed write, or below the
        free-space floor; cleared once there is room again."""
        floor = self.settings.min_free_disk_mb * MIB
        try:
            free = shutil.disk_usage(self.settings.home).free
        except OSError:
            free = None
        if free is not None and free < floor:
            self.disk_full = self.disk_full or DISK_FULL
            raise DiskFull(
                f"{self.disk_full}: {free // MIB} MiB free, new runs need "
                f"{self.settings.min_free_disk_mb} MiB (UNLEARNSCOPE_MIN_FREE_DISK_MB); free "
                "some space (delete old runs) and try again",
                reason=self.disk_full,
            )
        self.disk_full = None

    def create(self, config: RunConfig, client: str = "") -> RunRow:
        self.require_writable()
        check_data_root(config, self.settings)
        check_limits(config, self.settings)
        self._check_disk()
        waiting = self.pool.positions()
        mine = sum(1 for r in waiting if self._owners.get(r) == client)
        if mine >= self.settings.max_queued_per_client:
            raise TooManyQueued(
                f"you have {mine} runs waiting to start; this server allows "
                f"{self.settings.max_queued_per_client} per client "
                "(UNLEARNSCOPE_MAX_QUEUED_PER_CLIENT): wait for one to start, or stop one",
                limit="max_queued_per_client",
            )
        run_id = new_run_id()
        try:
            row = self.store.create(run_id, config, RunStatus.QUEUED)
        except Exception as err:
            if is_disk_full(err):
                self.disk_full = DISK_FULL
                raise DiskFull(
                    f"{DISK_FULL}: the run was not created; free some space and try again",
                    reason=DISK_FULL,
                ) from None
            raise
        self._owners[run_id] = client
        self._publish_run(row)
        self.pool.submit(run_id)
        return self.store.get(run_id) or row

    def list(self, limit: int, offset: int, status: str | None) -> list[RunRow]:
        return self.store.list(limit, offset, status)

    def counts(self) -> tuple[int, int]:
        return len(self.pool.active), len(self.pool.positions())

    # -- workers -------------------------------------------------------------------------
    def _launch(self, run_id: str) -> None:
        """Start the worker of a run (the pool calls this when a slot is free)."""
        row = self.store.get(run_id)
        if row is None or self._shutting_down:
            raise RuntimeError(f"run {run_id} cannot start now")
        s = self.settings
        spec = WorkerSpec(
            run_id=run_id,
            config=row.config,
            device=s.device,
            data_dir=str(s.data_dir) if s.data_dir else None,
            cache_dir=str(s.cache_dir),
            model_path=str(self.files.model_path(run_id)),
            torch_threads=s.torch_threads,
        )
        handle = WorkerHandle(spec, self._on_events, self._on_exit)
        with self._lock:
            self._workers[run_id] = handle
            early = self._mailbox.pop(run_id, [])
        if any(m.get("op") == "stop" for m in early):
            self._cancel_launch(run_id, handle)
        for msg in early:
            handle.send(msg)  # kept by the handle until the process starts
        self._publish_run(
            self.store.set_status(run_id, RunStatus.PREPARING, "starting a worker process")
        )
        self._publish_queue()
        try:
            handle.start()
        except Exception as err:
            with self._lock:
                self._workers.pop(run_id, None)
                self._mailbox.pop(run_id, None)
            reason = f"could not start a worker process: {type(err).__name__}: {err}"
            log.exception("run %s: %s", run_id, reason)
            self._publish_run(self.store.set_status(run_id, RunStatus.FAILED, reason, reason))
            raise

    def _cancel_launch(self, run_id: str, handle: WorkerHandle) -> None:
        """A stop came before the worker started: record `stopped`, start nothing."""
        handle.take_backlog()
        with self._lock:
            self._workers.pop(run_id, None)
        row = self.store.get(run_id)
        if row is not None:
            event = StatusEvent(
                seq=row.last_seq + 1,
                t=time.time(),
                status="stopped",
                message="stopped before its worker started",
                step=row.step,
            )
            self._on_events(run_id, [event])
        self._publish_queue()
        raise LaunchCancelled(run_id)  # the pool frees the slot and starts the next run

    def worker(self, run_id: str) -> WorkerHandle | None:
        with self._lock:
            return self._workers.get(run_id)

    def _send(self, run_id: str, msg: dict[str, Any]) -> bool:
        """Hand a control message to a run's worker, or keep it for the worker that is
        being launched (the run left the queue, its process is not up yet); False when
        the run has no worker and none is coming."""
        with self._lock:
            handle = self._workers.get(run_id)
            if handle is None:
                if not self.pool.is_active(run_id):
                    return False
                row = self.store.get(run_id)
                if row is None or RunStatus(row.status) not in (
                    RunStatus.QUEUED,
                    RunStatus.PREPARING,
                ):
                    return False
                self._mailbox.setdefault(run_id, []).append(msg)
                return True
        return handle.send(msg)

    def _on_events(self, run_id: str, events: list[EventBase]) -> None:
        """Reader thread: persist a batch, then publish it on the loop."""
        if run_id in self._deleting or run_id in self._overrides:
            return
        events = [self._for_clients(run_id, e) for e in events]
        try:
            row, changed = self.store.append(run_id, events)
        except Exception as err:
            if not is_disk_full(err):
                raise
            self._lose_run(run_id, events, err)
            return
        progressed = False
        for e in events:
            if isinstance(e, PhaseStart):
                self._phases[run_id] = (e.phase_index, e.kind)
            progressed = progressed or isinstance(e, StepMetrics | PhaseStart)
        messages = [encode_event(run_id, e) for e in events]
        self._in_loop(self._dispatch, run_id, events, messages)
        # The run list hears of every status change, and of progress at most once a second.
        now = time.monotonic()
        if changed or (progressed and now - self._list_sent.get(run_id, 0.0) >= LIST_STEP_INTERVAL):
            self._list_sent[run_id] = now
            self._publish_run(row)

    def _for_clients(self, run_id: str, e: EventBase) -> EventBase:
        """What an event says to clients (and the stored log): an error's type and
        message, never its traceback (server paths; it goes to the log); a stop because
        the server shuts down says so, not "stopped by user"."""
        if isinstance(e, ErrorEvent) and e.traceback:
            if e.fatal:
                log.error("run %s failed: %s\n%s", run_id, e.message, e.traceback)
            else:
                log.warning("run %s: %s\n%s", run_id, e.message, e.traceback)
            return e.model_copy(update={"traceback": ""})
        if isinstance(e, ErrorEvent) and e.fatal:
            log.error("run %s failed: %s", run_id, e.message)
        if isinstance(e, StatusEvent) and e.status == "stopped" and run_id in self._interrupting:
            message = f"interrupted: the server shut down during the run, at step {e.step}"
            return e.model_copy(update={"status": RunStatus.INTERRUPTED.state, "message": message})
        return e

    def _lose_run(self, run_id: str, events: list[EventBase], err: BaseException) -> None:
        """Disk full: the run fails, its worker is stopped, its clients are told, new
        runs get 507 until there is room; the server goes on serving what it has."""
        self.disk_full = DISK_FULL
        self._overrides[run_id] = (RunStatus.FAILED, DISK_FULL)
        log.error("run %s: %s (%s); stopping its worker", run_id, DISK_FULL, err)
        handle = self.worker(run_id)
        if handle is not None:
            handle.kill()  # its events cannot be stored; its model could not be either
        stored = self.store.get(run_id)
        seq = stored.last_seq if stored is not None else 0
        step = stored.step if stored is not None else 0
        now = time.time()
        final = [
            ErrorEvent(seq=seq + 1, t=now, message=f"OSError: {DISK_FULL}"),
            StatusEvent(seq=seq + 2, t=now, status="failed", message=DISK_FULL, step=step),
        ]
        try:  # a small write may still fit; then the log says it too
            self.store.append(run_id, final)
        except Exception:
            pass
        self._in_loop(self._dispatch, run_id, final, [encode_event(run_id, e) for e in final])
        row = self.store.get(run_id)
        self._publish_run(row)

    def _dispatch(self, run_id: str, events: list[EventBase], messages: list[Any]) -> None:
        """Loop: fan out, and answer whoever waits for one of these events."""
        self.hub.publish(run_id, messages)
        waiters = self._waiters.get(run_id)
        if not waiters:
            return
        for e in events:
            for w in list(waiters):
                if not w.future.done() and w.match(e):
                    w.future.set_result(e)
                    waiters.remove(w)

    def _on_exit(self, run_id: str, finished: WorkerExit | None, code: int | None) -> None:
        """Reader thread: the worker is gone. Record its model; explain an abnormal end."""
        with self._lock:
            self._workers.pop(run_id, None)
            self._mailbox.pop(run_id, None)
        try:
            if run_id in self._deleting:
                return
            if run_id in self._overrides:  # disk full: record the failure if it fits now
                try:
                    self.store.set_status(run_id, RunStatus.FAILED, DISK_FULL, DISK_FULL)
                    self._overrides.pop(run_id, None)
                except Exception:
                    pass
                return
            if finished is not None and finished.model_path:
                path = Path(finished.model_path)
                if path.exists():
                    rel = self.files.relative(path)
                    self.store.put_artifact(run_id, "model", rel, path.stat().st_size)
            if code:  # abnormal: recorded before the status changes, so both show together
                self.store.set_exit_code(run_id, code)
            row = self.store.get(run_id)
            if row is None:
                return
            status = RunStatus(row.status)
            if self._shutting_down and status not in (RunStatus.COMPLETED, RunStatus.FAILED):
                message = f"the server shut down during the run, at step {row.step}"
                if (
                    finished is not None
                    and finished.model_path
                    and Path(finished.model_path).exists()
                ):
                    message += "; the model up to then is saved"
                self.store.set_status(run_id, RunStatus.INTERRUPTED, message)
            elif status not in TERMINAL_STATUSES:
                self._fail(row, finished, code)
            elif finished is not None and finished.error:
                log.error("run %s: the worker failed after the run: %s", run_id, finished.error)
        finally:
            self.pool.release(run_id)
            self._publish_queue()

    def _fail(self, row: RunRow, finished: WorkerExit | None, code: int | None) -> None:
        """Append the failure to the run's log (as the engine would) and mark it failed."""
        if finished is not None and finished.error:
            reason = finished.error.split("\n", 1)[0]
            log.error("run %s: the worker failed: %s", row.id, finished.error)
        else:
            reason = describe_exit(code)
            reason += "; the run cannot continue (start a new one; see the server log)"
        now = time.time()
        self._on_events(
            row.id,
            [
                ErrorEvent(seq=row.last_seq + 1, t=now, message=reason),
                StatusEvent(
                    seq=row.last_seq + 2, t=now, status="failed", message=reason, step=row.step
                ),
            ],
        )

    # -- control -------------------------------------------------------------------------
    def _waiter(self, run_id: str, match: Callable[[EventBase], bool]) -> _Waiter:
        assert self._loop is not None, "the service is not started"
        w = _Waiter(match, self._loop.create_future())
        self._waiters.setdefault(run_id, []).append(w)
        return w

    def _drop_waiter(self, run_id: str, w: _Waiter) -> None:
        waiters = self._waiters.get(run_id, [])
        if w in waiters:
            waiters.remove(w)
        if not waiters:
            self._waiters.pop(run_id, None)

    async def _ask(
        self, run_id: str, msg: dict[str, Any], match: Callable[[EventBase], bool]
    ) -> EventBase | None:
        """Send a control message; the first matching event, or None on timeout."""
        w = self._waiter(run_id, match)
        try:
            if not self._send(run_id, msg):
                row = await asyncio.to_thread(self.require, run_id)
                raise WrongState(
                    f"run {run_id} has no live worker (it is {row.status})", row.status
                )
            return await asyncio.wait_for(w.future, self.settings.control_timeout)
        except TimeoutError:
            return None
        finally:
            self._drop_waiter(run_id, w)

    async def control(self, run_id: str, op: str) -> ControlOut:
        self.require_writable()
        row = await asyncio.to_thread(self.require, run_id)
        status = RunStatus(row.status)
        if status not in ALLOWED[op]:
            raise WrongState(
                f"cannot {op} run {run_id}: it is {status.value}; {HINTS[op]}", status.value
            )
        if op == "stop" and status is RunStatus.QUEUED and self.pool.cancel(run_id):
            row = await asyncio.to_thread(
                self.store.set_status, run_id, RunStatus.STOPPED, "stopped before it started"
            )
            self._publish_run(row)
            self._publish_queue()
            return ControlOut(op=op, applied=True, status="stopped", step=0)
        rid = uuid.uuid4().hex
        target = TARGET[op]

        def match(e: EventBase) -> bool:
            if isinstance(e, ErrorEvent):
                return e.request_id == rid
            return isinstance(e, StatusEvent) and (
                e.status == target or e.status in TERMINAL
            )

        event = await self._ask(run_id, {"op": op, "request_id": rid}, match)
        if event is None:
            return ControlOut(
                op=op,
                applied=False,
                status=row.status,
                step=row.step,
                message="sent; the engine applies it at its next step boundary "
                "(after preparation, when preparing)",
            )
        if isinstance(event, ErrorEvent):
            now = await asyncio.to_thread(self.require, run_id)
            raise WrongState(event.message, now.status)
        assert isinstance(event, StatusEvent)
        if event.status != target:
            raise WrongState(
                f"run {run_id} {event.status} before the {op} took effect", event.status
            )
        return ControlOut(
            op=op, applied=True, status=event.status, step=event.step, message=event.message
        )

    async def edit_schedule(self, run_id: str, schedule: list[PhaseConfig]) -> ScheduleEdit:
        self.require_writable()
        row = await asyncio.to_thread(self.require, run_id)
        if RunStatus(row.status) not in (RunStatus.RUNNING, RunStatus.PAUSED):
            raise WrongState(
                f"cannot edit the schedule of run {run_id}: it is {row.status}; only a "
                "running or paused run can be edited",
                row.status,
            )
        rid = uuid.uuid4().hex

        def match(e: EventBase) -> bool:
            if isinstance(e, ScheduleEdit | ErrorEvent):
                return e.request_id == rid
            return isinstance(e, StatusEvent) and e.status in TERMINAL

        msg = {
            "op": "edit_schedule",
            "request_id": rid,
            "schedule": [p.model_dump(mode="json") for p in schedule],
        }
        event = await self._ask(run_id, msg, match)
        if event is None:
            raise EngineTimeout(
                f"the engine did not answer within {self.settings.control_timeout:g} s; the "
                f"edit may still apply at its next step: check GET /api/runs/{run_id}"
            )
        now = await asyncio.to_thread(self.require, run_id)
        if isinstance(event, StatusEvent):
            raise WrongState(f"run {run_id} {event.status} before the edit arrived", now.status)
        if isinstance(event, ErrorEvent):
            raise WrongState(event.message, now.status)
        assert isinstance(event, ScheduleEdit)
        if not event.accepted:
            raise EditRefused(event.reason, now.status, event.step, now.schedule)
        return event

    async def delete(self, run_id: str) -> None:
        self.require_writable()
        await asyncio.to_thread(self.require, run_id)
        self._deleting.add(run_id)
        try:
            self.pool.cancel(run_id)
            handle = self.worker(run_id)
            if handle is not None:
                handle.send({"op": "stop"})
                if not await asyncio.to_thread(handle.wait, self.settings.stop_grace):
                    handle.kill()
                    await asyncio.to_thread(handle.wait, 10.0)
            await asyncio.to_thread(self._delete_everything, run_id)
        finally:
            self._deleting.discard(run_id)
        self.hub.close_run(run_id, CLOSE_DELETED, "the run was deleted")
        for w in self._waiters.pop(run_id, []):
            if not w.future.done():
                w.future.set_exception(RunNotFound(run_id))
        self.hub.publish_runs({"type": "run_deleted", "id": run_id})
        self._publish_queue()

    def _delete_everything(self, run_id: str) -> None:
        self._phases.pop(run_id, None)
        self._list_sent.pop(run_id, None)
        self.store.delete(run_id)
        self.files.remove(run_id)
        self._owners.pop(run_id, None)
        self._overrides.pop(run_id, None)
        self.saved.forget(run_id)

    # -- sample inspection ---------------------------------------------------------------
    async def inspect(self, run_id: str, index: int, step: int | None) -> tuple[SampleReport, str]:
        """(report, source): from the live worker between steps, or the saved model."""
        row = await asyncio.to_thread(self.require, run_id)
        status = RunStatus(row.status)
        if status in (RunStatus.QUEUED, RunStatus.PREPARING):
            raise WrongState(
                f"run {run_id} is {status.value}: its model is not ready yet; inspect samples "
                "once it runs",
                status.value,
            )
        if status in (RunStatus.RUNNING, RunStatus.PAUSED) and self.worker(run_id) is not None:
            if step is not None and step < row.step:
                raise NotAvailable(
                    f"the model at step {step} is not kept; run {run_id} can be inspected at "
                    f"its current step ({row.step}): leave out ?step=",
                    step=row.step,
                )
            report = await self._inspect_live(run_id, index)
            if report is not None:
                return report, "live"
            handle = self.worker(run_id)  # it ended meanwhile: use what it saved
            if handle is not None:
                await asyncio.to_thread(handle.wait, self.settings.stop_grace)
            row = await asyncio.to_thread(self.require, run_id)
        if step is not None and step != row.step:
            raise NotAvailable(
                f"only the final model of run {run_id} is kept (step {row.step}); ask for "
                f"step={row.step} or leave out ?step=",
                step=row.step,
            )
        report = await asyncio.to_thread(self._inspect_saved, row, index)
        return report, "saved"

    async def _inspect_live(self, run_id: str, index: int) -> SampleReport | None:
        rid = uuid.uuid4().hex

        def match(e: EventBase) -> bool:
            if isinstance(e, SampleReport | ErrorEvent):
                return e.request_id == rid
            return isinstance(e, StatusEvent) and e.status in TERMINAL

        event = await self._ask(run_id, {"op": "inspect", "request_id": rid, "index": index}, match)
        if event is None:
            raise EngineTimeout(
                f"the worker did not answer within {self.settings.control_timeout:g} s"
            )
        if isinstance(event, ErrorEvent):
            raise InvalidInput(event.message)
        if isinstance(event, StatusEvent):
            return None
        assert isinstance(event, SampleReport)
        return event

    def _inspect_saved(self, row: RunRow, index: int) -> SampleReport:
        model_path = self.files.model_path(row.id)
        if model_path.exists() and saved_step(model_path) not in (None, row.step):
            raise NotAvailable(
                f"run {row.id}'s saved model is from step {saved_step(model_path)}, not its "
                f"recorded step {row.step}; it is not used"
            )
        if not model_path.exists():
            raise NotAvailable(
                f"run {row.id} ({row.status}) has no saved model to inspect: its worker ended "
                "before saving one"
            )
        config = RunConfig.model_validate(row.config)
        saved = self.saved.get(row.id, config, model_path)
        try:
            report = saved.inspect(index)
        except IndexError as err:
            raise InvalidInput(str(err)) from None
        return SampleReport(
            step=row.step, target_class=config.attack.target_class, t=time.time(), **report
        )

    # -- export --------------------------------------------------------------------------
    def export(self, run_id: str) -> Path:
        """The run's export zip (rebuilt unless a finished run's zip is up to date)."""
        row = self.require(run_id)
        with self._lock:
            lock = self._export_locks.setdefault(run_id, threading.Lock())
        with lock:
            out = self.files.export_path(run_id)
            if self.read_only:  # the artifacts folder cannot be written: a temp file
                out = Path(tempfile.gettempdir()) / "unlearnscope-exports" / run_id / "export.zip"
                out.parent.mkdir(parents=True, exist_ok=True)
            done = RunStatus(row.status) in TERMINAL_STATUSES
            known = self.store.artifact(run_id, "export")
            if done and known is not None and out.exists() and row.finished_at is not None:
                if known.created_at >= row.finished_at:
                    return out
            model = self.files.model_path(run_id)
            # The model goes in only when it is the one of the recorded step.
            usable = model.exists() and saved_step(model) in (None, row.step)
            events = self.store.load_events(run_id)
            write_export_zip(
                out,
                row.config,
                events,
                model if usable else None,
                folder=f"{row.name}-{run_id}",
            )
            if not self.read_only:
                size = out.stat().st_size
                self.store.put_artifact(run_id, "export", self.files.relative(out), size)
            return out
