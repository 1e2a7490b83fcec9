"""A run's worker process from the server's side: start it when the pool says so, and
record how it ended.

Threads: `launch` runs on whichever thread fills the pool (a request thread after a
submit, a reader thread after a release, the start-up thread for requeued runs);
`on_exit` runs on the ended worker's reader thread. Shared state: `LiveRuns` (its own
lock) holds the handles and the messages waiting for a launch; `Conditions` is read
as whole values. The database serialises the status writes.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path

from ...control import Control, Stop
from ...events import ErrorEvent, StatusEvent
from ...states import TERMINAL_STATUSES, RunStatus
from ...storage.tables import RunRow
from ...worker.executor import Executor, LocalExecutor, RunHandle
from ...worker.handle import describe_exit
from ...worker.process import WorkerExit, WorkerSpec
from .bridge import DISK_FULL, EventBridge
from .core import ServerCore

log = logging.getLogger(__name__)


class LaunchCancelled(Exception):
    """A stop arrived before the run's worker started: it never starts."""


class Workers:
    def __init__(
        self,
        core: ServerCore,
        bridge: EventBridge,
        executor: Executor | None = None,
    ) -> None:
        self.settings = core.settings
        self.store = core.store
        self.files = core.files
        self.live = core.live
        self.pool = core.pool  # it calls `launch`; `on_exit` frees the slot
        self.bridge = bridge
        self.conditions = core.conditions
        self.executor: Executor = executor or LocalExecutor()

    def spec(self, run_id: str, config: dict[str, object]) -> WorkerSpec:
        s = self.settings
        return WorkerSpec(
            run_id=run_id,
            config=dict(config),
            device=s.device,
            data_dir=str(s.data_dir) if s.data_dir else None,
            cache_dir=str(s.cache_dir),
            model_path=str(self.files.model_path(run_id)),
            torch_threads=s.torch_threads,
        )

    def launch(self, run_id: str) -> None:
        """Start the worker of a run (the pool calls this when a slot is free)."""
        row = self.store.get(run_id)
        if row is None or self.conditions.shutting_down:
            raise RuntimeError(f"run {run_id} cannot start now")
        spec = self.spec(run_id, row.config)
        handle = self.executor.handle(spec, self.bridge.on_events, self.on_exit, self.on_placed)
        early: list[Control] = self.live.add_worker(run_id, handle)
        if any(isinstance(m, Stop) for m in early):
            self._cancel_launch(run_id, handle)
        for msg in early:
            handle.send(msg)  # kept by the handle until the process starts
        if self.executor.places_at_once:
            self.bridge.publish_run(
                self.store.set_status(run_id, RunStatus.PREPARING, "starting a worker process")
            )
        else:  # queued until the executor finds it a place (`on_placed`)
            self.bridge.publish_run(
                self.store.set_status(run_id, RunStatus.QUEUED, self.executor.waiting_note())
            )
        self.bridge.publish_queue()
        try:
            handle.start()
        except Exception as err:
            self.live.drop_worker(run_id)
            reason = f"could not start a worker process: {type(err).__name__}: {err}"
            log.exception("run %s: %s", run_id, reason)
            self.bridge.publish_run(self.store.set_status(run_id, RunStatus.FAILED, reason, reason))
            raise

    def reattach(self, row: RunRow) -> bool:
        """Pick up a run whose engine outlived the last server (Ray); False: none did."""
        handle = self.executor.reattach(
            self.spec(row.id, row.config),
            row.last_seq,
            self.bridge.on_events,
            self.on_exit,
            self.on_placed,
        )
        if handle is None:
            return False
        self.live.add_worker(row.id, handle)
        self.pool.adopt(row.id)
        handle.start()
        log.warning("run %s: re-attached to its engine after seq %d", row.id, row.last_seq)
        return True

    def on_placed(self, run_id: str, where: str) -> None:
        """Reader thread: the executor placed the run's engine; it prepares now."""
        self.store.set_device(run_id, where)
        row = self.store.set_status(run_id, RunStatus.PREPARING, f"placed: {where}")
        self.bridge.publish_run(row)
        self.bridge.publish_queue()

    def _cancel_launch(self, run_id: str, handle: RunHandle) -> None:
        """A stop came before the worker started: record `stopped`, start nothing."""
        handle.take_backlog()
        self.live.drop_worker(run_id)
        row = self.store.get(run_id)
        if row is not None:
            event = StatusEvent(
                seq=row.last_seq + 1,
                t=time.time(),
                status="stopped",
                message="stopped before its worker started",
                step=row.step,
            )
            self.bridge.on_events(run_id, [event])
        self.bridge.publish_queue()
        raise LaunchCancelled(run_id)  # the pool frees the slot and starts the next run

    def on_exit(self, run_id: str, finished: WorkerExit | None, code: int | None) -> None:
        """Reader thread: the worker is gone. Record its model; explain an abnormal end."""
        self.live.drop_worker(run_id)
        try:
            if self.live.deleting(run_id):
                return
            if self.live.override(run_id) is not None:  # disk full: record it if it fits now
                try:
                    self.store.finish(run_id, RunStatus.FAILED, DISK_FULL)
                    self.live.clear_override(run_id)
                except Exception as err:
                    log.error("run %s: its failure could not be stored either: %s", run_id, err)
                return
            if finished is not None and finished.cancelled:
                self._stopped_unplaced(run_id)
                return
            saved = False
            if finished is not None and finished.model_path:
                path = Path(finished.model_path)
                saved = path.exists()
                if saved:
                    rel = self.files.relative(path)
                    self.store.put_artifact(run_id, "model", rel, path.stat().st_size)
            if code:  # abnormal: recorded before the status changes, so both show together
                self.store.set_exit_code(run_id, code)
            row = self.store.get(run_id)
            if row is None:
                return
            status = RunStatus(row.status)
            if self.conditions.shutting_down and status not in (
                RunStatus.COMPLETED,
                RunStatus.FAILED,
                RunStatus.STOPPED,  # by its user before the shutdown: it stays so
            ):
                message = f"the server shut down during the run, at step {row.step}"
                if saved:
                    message += "; the model up to then is saved"
                if status is RunStatus.INTERRUPTED:  # its log says so already
                    self.store.set_status(run_id, RunStatus.INTERRUPTED, message)
                else:  # a worker that ended without a word: the log gets the end too
                    self.store.finish(run_id, RunStatus.INTERRUPTED, message)
            elif status not in TERMINAL_STATUSES:
                self._fail(row, finished, code)
            elif finished is not None and finished.error:
                log.error("run %s: the worker failed after the run: %s", run_id, finished.error)
        finally:
            self.pool.release(run_id)
            self.bridge.publish_queue()

    def _stopped_unplaced(self, run_id: str) -> None:
        row = self.store.get(run_id)
        if row is not None and RunStatus(row.status) not in TERMINAL_STATUSES:
            event = StatusEvent(
                seq=row.last_seq + 1,
                t=time.time(),
                status="stopped",
                message="stopped before its engine was placed",
                step=row.step,
            )
            self.bridge.on_events(run_id, [event])

    def _fail(self, row: RunRow, finished: WorkerExit | None, code: int | None) -> None:
        """Append the failure to the run's log (as the engine would) and mark it failed."""
        if finished is not None and finished.error:
            reason = finished.error.split("\n", 1)[0]
            log.error("run %s: the worker failed: %s", row.id, finished.error)
        else:
            reason = describe_exit(code)
            reason += "; the run cannot continue (start a new one; see the server log)"
        now = time.time()
        self.bridge.on_events(
            row.id,
            [
                ErrorEvent(seq=row.last_seq + 1, t=now, message=reason),
                StatusEvent(
                    seq=row.last_seq + 2, t=now, status="failed", message=reason, step=row.step
                ),
            ],
        )
