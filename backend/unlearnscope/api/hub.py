"""Fan-out of encoded events to WebSocket clients, one bounded queue per client.

Everything here runs on the event loop (publishers in threads go through
`loop.call_soon_threadsafe`), so there are no locks. The policy of a client's queue:

- heatmap frames are droppable: when more than `max_frames` wait, the oldest waiting one
  is replaced by a small JSON `skipped` notice (the seq stays gapless; the frame can be
  fetched later from /frames?step=N), so a slow client sees the newest heatmaps;
- everything else (scalars, status, probes) is never dropped: when more than
  `max_pending` messages wait, the queue overflows and the client is closed with
  code 4001 and a reason that says to reconnect with ?after=<last seq it got>.

A publisher never waits for a client, so no client slows the engine or another client.
"""

from __future__ import annotations

import asyncio
import json
from collections import deque
from dataclasses import dataclass
from typing import Any

from .close_codes import CloseCode

CLOSE_LAGGING = CloseCode.LAGGING  # the client fell too far behind: reconnect with ?after=SEQ
CLOSE_DELETED = CloseCode.GONE  # the run was deleted
CLOSE_GOING_AWAY = CloseCode.GOING_AWAY  # the server shuts down


@dataclass(frozen=True)
class Outgoing:
    """One encoded message, ready for `send_text` (str) or `send_bytes` (bytes)."""

    data: str | bytes
    seq: int = 0
    step: int | None = None
    run_id: str = ""
    droppable: bool = False  # heatmap frames
    terminal: bool = False  # the run's last event: the stream ends after it

    def skipped(self) -> Outgoing:
        notice = {
            "type": "skipped",
            "seq": self.seq,
            "run_id": self.run_id,
            "step": self.step,
            "of": "frames",
            "message": "slow client: this heatmap frame was dropped; GET /frames?step=N has it",
        }
        return Outgoing(json.dumps(notice), self.seq, self.step, self.run_id)


class ClientQueue:
    def __init__(self, max_pending: int = 1000, max_frames: int = 4) -> None:
        self.max_pending = max_pending
        self.max_frames = max_frames
        self._items: deque[Outgoing] = deque()
        self._frames = 0  # droppable items waiting
        self._ready = asyncio.Event()
        self.overflowed = False
        self.closed: tuple[int, str] | None = None  # (code, reason) set by the server

    def __len__(self) -> int:
        return len(self._items)

    def put(self, msg: Outgoing) -> None:
        if self.overflowed or self.closed:
            return
        if msg.droppable:
            if self._frames >= self.max_frames:
                self._skip_oldest_frame()
            self._frames += 1
        elif len(self._items) >= self.max_pending:
            self.overflowed = True
            self._items.clear()
            self._ready.set()
            return
        self._items.append(msg)
        self._ready.set()

    def _skip_oldest_frame(self) -> None:
        for i, item in enumerate(self._items):
            if item.droppable:
                self._items[i] = item.skipped()
                self._frames -= 1
                return

    def close(self, code: int, reason: str) -> None:
        self.closed = (code, reason)
        self._ready.set()

    async def get(self) -> Outgoing | None:
        """The next message; None once the queue overflowed or was closed."""
        while not self._items:
            if self.overflowed or self.closed:
                return None
            self._ready.clear()
            await self._ready.wait()
        if self.overflowed or self.closed:
            return None
        msg = self._items.popleft()
        if msg.droppable:
            self._frames -= 1
        return msg


class Hub:
    def __init__(self, max_pending: int = 1000, max_frames: int = 4) -> None:
        self.max_pending = max_pending
        self.max_frames = max_frames
        self._runs: dict[str, set[ClientQueue]] = {}
        self._lists: set[ClientQueue] = set()

    def _new(self) -> ClientQueue:
        return ClientQueue(self.max_pending, self.max_frames)

    # -- per-run streams -----------------------------------------------------------------
    def subscribe(self, run_id: str) -> ClientQueue:
        client = self._new()
        self._runs.setdefault(run_id, set()).add(client)
        return client

    def unsubscribe(self, run_id: str, client: ClientQueue) -> None:
        clients = self._runs.get(run_id)
        if clients is not None:
            clients.discard(client)
            if not clients:
                del self._runs[run_id]

    def publish(self, run_id: str, messages: list[Outgoing]) -> None:
        for client in self._runs.get(run_id, ()):
            for msg in messages:
                client.put(msg)

    def close_run(self, run_id: str, code: int, reason: str) -> None:
        for client in self._runs.get(run_id, ()):
            client.close(code, reason)

    def clients(self, run_id: str) -> int:
        return len(self._runs.get(run_id, ()))

    # -- the run list --------------------------------------------------------------------
    def subscribe_runs(self) -> ClientQueue:
        client = self._new()
        self._lists.add(client)
        return client

    def unsubscribe_runs(self, client: ClientQueue) -> None:
        self._lists.discard(client)

    def publish_runs(self, message: dict[str, Any]) -> None:
        msg = Outgoing(json.dumps(message, default=str))
        for client in self._lists:
            client.put(msg)

    def close_all(self, code: int, reason: str) -> None:
        for clients in self._runs.values():
            for client in clients:
                client.close(code, reason)
        for client in self._lists:
            client.close(code, reason)
