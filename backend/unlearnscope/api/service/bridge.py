"""From worker reader threads to the event loop: persist, then fan out.

Each worker's reader thread calls `on_events` with a batch. It stores the batch first
and then hands the encoded events to the event loop (`call_soon_threadsafe`), where the
hub and the waiting requests live. Persist-then-publish means a client that subscribes
and then reads the history from the database misses nothing.

Threads: `on_events`, `lose_run`, `publish_run` and `publish_queue` run on reader and
request threads; `_dispatch` runs on the loop. Shared state: `LiveRuns` (its own lock),
`Conditions.disk_full` (written whole); `loop` is set at start and cleared at shutdown
by the lifecycle, read here as one reference (a closed or absent loop drops the call).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import Any

from ...events import (
    ErrorEvent,
    EventBase,
    PhaseEnd,
    PhaseStart,
    ScheduleEdit,
    StatusEvent,
    StepMetrics,
)
from ...states import RunStatus
from ...storage.db import is_disk_full
from ...storage.tables import RunRow
from ..hub import Outgoing
from ..wire import encode_event
from .core import ServerCore
from .requests import ControlRequests

log = logging.getLogger(__name__)

LIST_STEP_INTERVAL = 1.0  # seconds: at most one step update per run on the run list
DISK_FULL = "disk full while storing events"


class EventBridge:
    def __init__(self, core: ServerCore, requests: ControlRequests) -> None:
        self.store = core.store
        self.hub = core.hub
        self.live = core.live
        self.views = core.views
        self.requests = requests
        self.pool = core.pool
        self.conditions = core.conditions
        self.loop: asyncio.AbstractEventLoop | None = None  # set while the server runs

    # -- thread -> loop ------------------------------------------------------------------
    def in_loop(self, fn: Callable[..., Any], *args: Any) -> None:
        loop = self.loop
        if loop is None or loop.is_closed():
            return
        try:
            loop.call_soon_threadsafe(fn, *args)
        except RuntimeError:  # the loop closed in between
            pass

    def publish_run(self, row: RunRow | None) -> None:
        """Tell run-list clients about a new or changed run (from any thread)."""
        if row is not None:
            message = {"type": "run", "run": self.views.view(row).model_dump(mode="json")}
            self.in_loop(self.hub.publish_runs, message)

    def publish_queue(self) -> None:
        """Every queued run's place in line, after the line moved."""
        for run_id in self.pool.positions():
            self.publish_run(self.store.get(run_id))

    # -- events --------------------------------------------------------------------------
    def on_events(self, run_id: str, events: list[EventBase]) -> None:
        """Reader thread: persist a batch, then publish it on the loop."""
        if self.live.deleting(run_id) or self.live.override(run_id) is not None:
            return
        events = [self._for_clients(run_id, e) for e in events]
        try:
            row, changed = self.store.append(run_id, events)
        except Exception as err:
            if not is_disk_full(err):
                raise
            self.lose_run(run_id, err)
            return
        progressed = False
        for e in events:
            if isinstance(e, PhaseStart):
                self.live.set_phase(run_id, e.phase_index, e.kind)
            progressed = progressed or isinstance(e, StepMetrics | PhaseStart)
            # an accepted edit or a phase's end moves the run's total (run.plan): the list
            # hears of it at once, a paused run's too (no step would carry it)
            if isinstance(e, PhaseEnd) or (isinstance(e, ScheduleEdit) and e.accepted):
                changed = True
        self._publish(run_id, events)
        if self.live.list_update_due(run_id, changed, progressed, LIST_STEP_INTERVAL):
            self.publish_run(row)

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
        if isinstance(e, StatusEvent) and e.status == "stopped" and self.live.interrupting(run_id):
            message = f"interrupted: the server shut down during the run, at step {e.step}"
            return e.model_copy(update={"status": RunStatus.INTERRUPTED.state, "message": message})
        return e

    def lose_run(self, run_id: str, err: BaseException) -> None:
        """Disk full: the run fails, its worker is stopped, its clients are told, new
        runs get 507 until there is room; the server goes on serving what it has."""
        self.conditions.disk_full = DISK_FULL
        self.live.set_override(run_id, RunStatus.FAILED, DISK_FULL)
        log.error("run %s: %s (%s); stopping its worker", run_id, DISK_FULL, err)
        handle = self.live.worker(run_id)
        if handle is not None:
            handle.kill()  # its events cannot be stored; its model could not be either
        stored = self.store.get(run_id)
        seq = stored.last_seq if stored is not None else 0
        step = stored.step if stored is not None else 0
        now = time.time()
        final: list[EventBase] = [
            ErrorEvent(seq=seq + 1, t=now, message=f"OSError: {DISK_FULL}"),
            StatusEvent(seq=seq + 2, t=now, status="failed", message=DISK_FULL, step=step),
        ]
        try:  # a small write may still fit; then the log says it too
            self.store.append(run_id, final)
        except Exception:
            pass
        self._publish(run_id, final)
        self.publish_run(self.store.get(run_id))

    def _publish(self, run_id: str, events: list[EventBase]) -> None:
        messages = [encode_event(run_id, e) for e in events]
        self.in_loop(self._dispatch, run_id, events, messages)

    def _dispatch(self, run_id: str, events: list[EventBase], messages: list[Outgoing]) -> None:
        """Loop: fan out, and answer whoever waits for one of these events."""
        self.hub.publish(run_id, messages)
        self.requests.answer(run_id, events)
