"""Start-up, recovery of what a dead server left behind, and shutdown.

Threads: `start` and `shutdown` run on the event loop; `recover` in a worker thread
(`asyncio.to_thread`) before the server takes requests; `resolve_device` on its own
daemon thread. Shared state: `Conditions` (whole-value writes: `read_only` and
`shutting_down` here, `device` by the resolver thread), `LiveRuns` (its own lock), and
`EventBridge.loop`, set here at start and cleared at shutdown.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time

from ...control import Stop
from ...states import ACTIVE_STATUSES, TERMINAL_STATUSES, RunStatus
from ...storage.artifacts import saved_step
from ...storage.db import Database
from ...storage.home import HomeProblem, classify, write_check
from ...storage.reserve import SpaceReserve
from ...storage.schema import SchemaRefused, check
from ...storage.tables import RunRow
from ..hub import CLOSE_GOING_AWAY
from .bridge import EventBridge
from .core import ServerCore
from .workers import Workers

log = logging.getLogger(__name__)


class Lifecycle:
    def __init__(
        self,
        core: ServerCore,
        bridge: EventBridge,
        workers: Workers | None = None,
    ) -> None:
        self.settings = core.settings
        self.store = core.store
        self.files = core.files
        self.hub = core.hub
        self.pool = core.pool
        self.live = core.live
        self.bridge = bridge
        self.conditions = core.conditions
        self.workers = workers

    async def start(self) -> None:
        self.bridge.loop = asyncio.get_running_loop()
        await asyncio.to_thread(self.recover)

    def check_schema(self) -> None:
        """SchemaRefused before the server listens, for a database a newer release wrote;
        any other problem is start-up's to find and say (`recover`)."""
        try:
            with self.store.db.engine.connect() as conn:
                check(conn, self.store.db.where())
        except SchemaRefused:
            raise
        except Exception as err:  # a full disk, a read-only mount, no server: said later
            log.debug("schema check deferred to start-up: %s", err)

    def recover(self) -> None:
        """The schema (migrations); runs a dead server left active end `interrupted`,
        with a status event at the end of their log (unless their engine lives on, on
        Ray: then the server re-attaches to it); ended runs whose log lacks their final
        status get it; queued ones requeue.

        A home the server cannot write (a full disk, a read-only mount) does not stop it:
        it serves the history read-only and says so in one line (the log, health, the
        answer to any change).
        """
        # Importing torch takes seconds: resolve the device without holding up start-up.
        threading.Thread(target=self.resolve_device, name="resolve-device", daemon=True).start()
        home = self.settings.home
        error: BaseException | None = None
        try:
            self.store.db.migrate()
            self.settings.artifacts_dir.mkdir(parents=True, exist_ok=True)
            error = write_check(home)
        except SchemaRefused:
            raise
        except Exception as err:  # OperationalError (full, read-only), PermissionError, ...
            error = err
        problem = classify(home if home.is_dir() else home.parent, error)
        if problem is not None:
            log.debug("the home cannot be written: %s", error, exc_info=error)
            self._go_read_only(problem)
            return
        self._hold_reserve()
        self._end_dead_runs()
        for run_id in self.store.ids_with_status([RunStatus.QUEUED]):
            self.pool.submit(run_id)

    def _hold_reserve(self) -> None:
        """The room kept for final statuses, next to a SQLite database."""
        database = self.store.db.sqlite_file()
        if database is None:
            return
        reserve = SpaceReserve(database.parent)
        if not reserve.make():
            log.warning(
                "no room to keep %d MiB for final statuses next to %s; a run that ends "
                "on a full disk may be recorded as interrupted",
                reserve.size >> 20,
                database,
            )
        self.store.reserve = reserve

    def _end_dead_runs(self) -> None:
        for run_id in self.store.ids_with_status(ACTIVE_STATUSES):
            row = self.store.get(run_id)
            if row is not None and self._reattach(row):
                continue
            was = row.status if row else "active"
            message = f"the server stopped while this run was {was}; its history up to then is kept"
            message += self._drop_mismatched_model(run_id, row.step if row else 0)
            self.store.finish(run_id, RunStatus.INTERRUPTED, message)
            log.warning("run %s was %s when the server last stopped: interrupted", run_id, was)
        for row, last in self.store.ended_without_event():
            logged = RunStatus(last["status"]) if last else None
            if logged is not None and logged in TERMINAL_STATUSES:  # the log is the record
                self.store.follow_log(row.id, logged, str(last.get("message", "") if last else ""))
                log.warning("run %s: its row now says %s, as its log does", row.id, logged.value)
                continue
            status = RunStatus(row.status)
            why = (row.error if status is RunStatus.FAILED else None) or row.message
            self.store.finish(row.id, status, why or f"the run ended {status.value}")
            log.warning("run %s: its log now ends with its final status (%s)", row.id, status.value)

    def _reattach(self, row: RunRow) -> bool:
        if self.workers is None or not self.workers.executor.detaches:
            return False
        try:
            return self.workers.reattach(row)
        except Exception as err:
            log.error("run %s: re-attaching to its engine failed: %s", row.id, err)
            return False

    def _go_read_only(self, problem: HomeProblem) -> None:
        """Serve the history read-only; one line says what is wrong, what still works
        and what to do (the log, health, and every refused change)."""
        self.pool.close()
        self.store.db.dispose()
        # The same store object (every part holds it) reads through a read-only database.
        self.store.db = Database(self.settings.db_url, read_only=True)
        refused = "refused (507)" if problem.disk_full else "refused (503)"
        try:
            with self.store.db.engine.connect() as conn:
                check(conn, self.store.db.where())
            count = len(self.store.list(limit=1_000_000))
            served = f"its {count} stored runs are served (lists, events, heatmaps, reports)"
            for run_id in self.store.ids_with_status(ACTIVE_STATUSES):
                self.live.set_override(
                    run_id,
                    RunStatus.INTERRUPTED,
                    "the server stopped while this run was active (read-only server)",
                )
        except SchemaRefused:
            raise
        except Exception as err:  # no database at all yet, or one that cannot be read
            first = str(getattr(err, "orig", None) or err).split("\n", 1)[0][:200]
            served = f"its database cannot be read either ({type(err).__name__}: {first})"
            log.debug("the database cannot be read", exc_info=err)
        note = f"; the database: {self.store.db.note}" if self.store.db.note else ""
        self.conditions.read_only = (
            f"read-only: the home {self.settings.home} cannot be written ({problem.cause}: "
            f"{problem.detail}); {served}{note}; new runs, uploads, changes and deletions "
            f"are {refused}; to fix: {problem.fix()}"
        )
        self.conditions.read_only_cause = problem.cause
        if problem.disk_full:
            self.conditions.disk_full = f"the disk is full ({problem.detail})"
        log.error("%s", self.conditions.read_only)

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

    def resolve_device(self) -> None:
        try:
            from ...ml.preparation import resolve_device

            self.conditions.device = str(resolve_device(self.settings.device))
        except ValueError as err:
            self.conditions.device = f"{self.settings.device} (unavailable: {err})"
            log.error("device: %s", err)

    async def shutdown(self) -> None:
        """Stop every worker (each saves its model), mark their runs interrupted; an
        executor whose engines outlive the server (Ray) is only let go of instead."""
        self.conditions.shutting_down = True
        self.pool.close()
        handles = self.live.workers()
        if self.workers is not None and self.workers.executor.detaches:
            for handle in handles:
                detach = getattr(handle, "detach", None)
                if detach is not None:
                    await asyncio.to_thread(detach)
            handles = []
            await asyncio.to_thread(self.workers.executor.close)
        for handle in handles:
            self.live.mark_interrupting(handle.run_id)
            handle.send(Stop())
        deadline = time.monotonic() + self.settings.stop_grace
        for handle in handles:
            left = max(0.1, deadline - time.monotonic())
            if not await asyncio.to_thread(handle.wait, left):
                log.warning("run %s: the worker did not stop in time; killing it", handle.run_id)
                handle.kill()
                await asyncio.to_thread(handle.wait, 5.0)
        self.hub.close_all(CLOSE_GOING_AWAY, "the server is shutting down")
        self.bridge.loop = None
        self.store.db.dispose()
