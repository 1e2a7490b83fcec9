"""What the server knows of its runs beyond the database: workers, phases, overrides.

Shared across threads: request threads (`asyncio.to_thread`, the thread pool), the event
loop, and one reader thread per worker all read and write it. Every field is guarded by
`LiveRuns._lock` and is touched only through the methods below, which hold the lock for
one short operation each and never call out while holding it (no I/O, no callbacks), so
the lock cannot deadlock with the pool's or a worker handle's own lock.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable

from ...control import Control
from ...states import RunStatus
from ...worker.executor import RunHandle


class LiveRuns:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._workers: dict[str, RunHandle] = {}
        # Control messages for runs the pool is launching before their worker handle
        # exists; handed to the handle (or cancelling the launch) when it is made.
        self._mailbox: dict[str, list[Control]] = {}
        self._phases: dict[str, tuple[int, str]] = {}  # run -> (index, kind) of its phase
        self._list_sent: dict[str, float] = {}  # run -> monotonic time of its last list update
        self._owners: dict[str, str] = {}  # run -> client address that created it
        # Runs whose state the database could not take (disk full) or that a read-only
        # server cannot mark: (status, message) shown instead of the stored one.
        self._overrides: dict[str, tuple[RunStatus, str]] = {}
        self._deleting: set[str] = set()  # runs being deleted: their events are dropped
        self._interrupting: set[str] = set()  # runs stopped because the server shuts down
        self._export_locks: dict[str, threading.Lock] = {}  # one export build per run

    # -- workers -------------------------------------------------------------------------
    def worker(self, run_id: str) -> RunHandle | None:
        with self._lock:
            return self._workers.get(run_id)

    def workers(self) -> list[RunHandle]:
        with self._lock:
            return list(self._workers.values())

    def add_worker(self, run_id: str, handle: RunHandle) -> list[Control]:
        """Record a run's new worker; the messages that waited for it."""
        with self._lock:
            self._workers[run_id] = handle
            return self._mailbox.pop(run_id, [])

    def drop_worker(self, run_id: str) -> None:
        with self._lock:
            self._workers.pop(run_id, None)
            self._mailbox.pop(run_id, None)

    def send_or_keep(self, run_id: str, msg: Control, launching: bool) -> bool | None:
        """Keep `msg` for a worker that is being launched, in one step with the check
        that none exists yet (a launch takes the kept messages when it adds its worker).

        None: the run has a worker; send through it (outside this lock). True: kept.
        False: no worker, and none is being launched."""
        with self._lock:
            if run_id in self._workers:
                return None
            if not launching:
                return False
            self._mailbox.setdefault(run_id, []).append(msg)
            return True

    def pending(self, run_id: str) -> list[Control]:
        """The messages kept for a worker that is being launched (a copy)."""
        with self._lock:
            return list(self._mailbox.get(run_id, []))

    # -- phases and run-list pacing ------------------------------------------------------
    def set_phase(self, run_id: str, index: int, kind: str) -> None:
        with self._lock:
            self._phases[run_id] = (index, kind)

    def phase(self, run_id: str) -> tuple[int | None, str | None]:
        with self._lock:
            return self._phases.get(run_id, (None, None))

    def list_update_due(self, run_id: str, changed: bool, progressed: bool, every: float) -> bool:
        """Whether the run list hears of this batch: every status change, and progress
        at most once per `every` seconds per run."""
        now = time.monotonic()
        with self._lock:
            due = changed or (progressed and now - self._list_sent.get(run_id, 0.0) >= every)
            if due:
                self._list_sent[run_id] = now
            return due

    # -- owners --------------------------------------------------------------------------
    def set_owner(self, run_id: str, client: str) -> None:
        with self._lock:
            self._owners[run_id] = client

    def owned_by(self, client: str, run_ids: Iterable[str]) -> int:
        with self._lock:
            return sum(1 for r in run_ids if self._owners.get(r) == client)

    # -- overrides -----------------------------------------------------------------------
    def override(self, run_id: str) -> tuple[RunStatus, str] | None:
        with self._lock:
            return self._overrides.get(run_id)

    def set_override(self, run_id: str, status: RunStatus, message: str) -> None:
        with self._lock:
            self._overrides[run_id] = (status, message)

    def clear_override(self, run_id: str) -> None:
        with self._lock:
            self._overrides.pop(run_id, None)

    # -- deleting, interrupting ----------------------------------------------------------
    def begin_delete(self, run_id: str) -> None:
        with self._lock:
            self._deleting.add(run_id)

    def end_delete(self, run_id: str) -> None:
        with self._lock:
            self._deleting.discard(run_id)

    def deleting(self, run_id: str) -> bool:
        with self._lock:
            return run_id in self._deleting

    def mark_interrupting(self, run_id: str) -> None:
        with self._lock:
            self._interrupting.add(run_id)

    def interrupting(self, run_id: str) -> bool:
        with self._lock:
            return run_id in self._interrupting

    # -- exports -------------------------------------------------------------------------
    def export_lock(self, run_id: str) -> threading.Lock:
        with self._lock:
            return self._export_locks.setdefault(run_id, threading.Lock())

    # -- a deleted run -------------------------------------------------------------------
    def forget(self, run_id: str) -> None:
        """Drop everything kept for a deleted run (its worker is gone already)."""
        with self._lock:
            for table in (
                self._phases,
                self._list_sent,
                self._owners,
                self._overrides,
                self._export_locks,
                self._mailbox,
            ):
                table.pop(run_id, None)
