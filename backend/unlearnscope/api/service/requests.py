"""Request and reply over a worker's control pipe.

A request is a control message (`unlearnscope.control`) with a fresh `request_id`; its
reply is the first event that echoes that id (one of the reply types, or an
`ErrorEvent`), or a status event in `until` (the run paused, ended, ...). The reply
comes back on a worker's reader thread and reaches the waiting request on the event
loop (`answer`, called by the bridge).

State: `_waiters` lives on the event loop only (requests await there; `answer` and
`fail_all` run there), so it needs no lock. Sending goes through `LiveRuns` (locked).
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable, Collection
from dataclasses import dataclass

from ...control import Control
from ...events import ErrorEvent, EventBase, StatusEvent
from ...states import RunStatus
from ..errors import WrongState
from .core import ServerCore

Match = Callable[[EventBase], bool]
LAUNCHING = (RunStatus.QUEUED, RunStatus.PREPARING)  # a worker is on its way


@dataclass
class _Waiter:
    match: Match
    future: asyncio.Future[EventBase]


def answers(request_id: str, replies: tuple[type[EventBase], ...], until: Collection[str]) -> Match:
    """Whether an event answers the request `request_id`: a reply (or error) that echoes
    its id, or a status event in `until`."""

    def match(e: EventBase) -> bool:
        if isinstance(e, (ErrorEvent, *replies)):
            return getattr(e, "request_id", None) == request_id
        return isinstance(e, StatusEvent) and e.status in until

    return match


class ControlRequests:
    def __init__(self, core: ServerCore) -> None:
        self.live = core.live
        self.pool = core.pool
        self.store = core.store
        self.views = core.views
        self.timeout = core.settings.control_timeout  # seconds an engine has to answer
        self._waiters: dict[str, list[_Waiter]] = {}  # event loop only

    def send(self, run_id: str, msg: Control) -> bool:
        """Hand a control message to a run's worker, or keep it for the worker that is
        being launched (the run left the queue, its process is not up yet); False when
        the run has no worker and none is coming."""
        sent = self.live.send_or_keep(run_id, msg, self._launching(run_id))
        if sent is not None:
            return sent
        handle = self.live.worker(run_id)
        return handle.send(msg) if handle is not None else False

    def _launching(self, run_id: str) -> bool:
        if self.live.worker(run_id) is not None or not self.pool.is_active(run_id):
            return False
        row = self.store.get(run_id)
        return row is not None and RunStatus(row.status) in LAUNCHING

    async def ask(
        self,
        run_id: str,
        msg: Control,
        replies: tuple[type[EventBase], ...] = (),
        until: Collection[str] = (),
    ) -> EventBase | None:
        """Send `msg` with a fresh request id; the first event that answers it (see
        `answers`), or None on timeout. WrongState when the run has no live worker."""
        rid = uuid.uuid4().hex
        msg = msg.model_copy(update={"request_id": rid})
        w = _Waiter(answers(rid, replies, until), asyncio.get_running_loop().create_future())
        self._waiters.setdefault(run_id, []).append(w)
        try:
            if not await asyncio.to_thread(self.send, run_id, msg):
                row = await asyncio.to_thread(self.views.require, run_id)
                raise WrongState(
                    f"run {run_id} has no live worker (it is {row.status})", row.status
                )
            return await asyncio.wait_for(w.future, self.timeout)
        except TimeoutError:
            return None
        finally:
            self._drop(run_id, w)

    def _drop(self, run_id: str, w: _Waiter) -> None:
        waiters = self._waiters.get(run_id, [])
        if w in waiters:
            waiters.remove(w)
        if not waiters:
            self._waiters.pop(run_id, None)

    def answer(self, run_id: str, events: list[EventBase]) -> None:
        """Loop: resolve the requests these events answer."""
        waiters = self._waiters.get(run_id)
        if not waiters:
            return
        for e in events:
            for w in list(waiters):
                if not w.future.done() and w.match(e):
                    w.future.set_result(e)
                    waiters.remove(w)

    def fail_all(self, run_id: str, err: Exception) -> None:
        """Loop: the run is gone; every request waiting on it gets `err`."""
        for w in self._waiters.pop(run_id, []):
            if not w.future.done():
                w.future.set_exception(err)
