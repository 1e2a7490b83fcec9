"""WebSockets: one run's events (history, then live), and the run list.

`/api/runs/{id}/stream?after=SEQ` sends every stored event with seq > SEQ, then a
`{"type": "history_end", "seq": N}` notice, then live events as they come. It closes with
1000 after the run's last event (a stopped, completed or failed status), at once after
the history when the run had already ended, with 4001 when the client fell too far
behind (reason: reconnect with ?after=SEQ), 4004 when the run is deleted or unknown.

Replay keeps the same per-client bound as live events: the history is read in pages of
headers, and the bytes of one event at a time, so a client that reads slowly holds one
message in server memory, not a page of heatmaps. A client that leaves a message unread
for `ws_send_timeout` seconds is cut off at the transport (a close frame would queue
behind the data it does not read).

`/api/runs/stream` sends `{"type": "runs", "runs": [...]}` and then
`{"type": "run", "run": {...}}` on every new run and change of status or queue place,
and `{"type": "run_deleted", "id": ...}`.
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Annotated

from fastapi import APIRouter, Query, WebSocket, WebSocketDisconnect
from fastapi.concurrency import run_in_threadpool

from ...settings import Settings
from ...states import TERMINAL_STATUSES, RunStatus
from ..close_codes import CloseCode
from ..deps import ServiceDep, SettingsDep
from ..errors import deny_websocket
from ..hub import CLOSE_LAGGING, ClientQueue, Outgoing
from ..middleware import TRANSPORT_KEY, scope_origin_allowed
from ..schemas import DB_INT_MAX
from ..wire import encode_stored

router = APIRouter(prefix="/api/runs", tags=["stream"])
log = logging.getLogger(__name__)

HISTORY_PAGE = 500  # events per database read while replaying
CLOSE_POLICY = CloseCode.POLICY  # refused: the page's origin is not allowed
CLOSE_NOT_FOUND = CloseCode.GONE


async def _refuse_foreign(ws: WebSocket, settings: Settings) -> bool:
    """Refuse the handshake (HTTP 403, JSON) when the Origin is not allowed."""
    same_host = settings.token is not None  # a token is required: see api/auth.py
    if scope_origin_allowed(ws.scope, settings.allowed_origins, settings.host, same_host):
        return False
    log.warning("refused a WebSocket from origin %s", ws.headers.get("origin"))
    detail = (
        "cross-origin WebSocket refused; add the page's origin to "
        "UNLEARNSCOPE_ALLOWED_ORIGINS to allow it"
    )
    await deny_websocket(ws, 403, {"detail": detail})
    return True


class ClientStalled(Exception):
    """The client left a message unread past the send timeout; it was cut off."""


def abort(ws: WebSocket) -> None:
    """Drop the connection at once, whatever is still buffered for it."""
    transport = ws.scope.get(TRANSPORT_KEY)
    if transport is not None:
        transport.abort()


async def _send(ws: WebSocket, msg: Outgoing, timeout: float) -> None:
    send = ws.send_bytes(msg.data) if isinstance(msg.data, bytes) else ws.send_text(msg.data)
    try:
        await asyncio.wait_for(send, timeout)
    except TimeoutError:
        log.warning("a WebSocket client left a message unread for %g s: cut off", timeout)
        abort(ws)
        raise ClientStalled from None


async def _watch_disconnect(ws: WebSocket, client: ClientQueue) -> None:
    """Read (and ignore) what the client sends, to notice at once when it leaves."""
    try:
        while True:
            message = await ws.receive()
            if message["type"] == "websocket.disconnect":
                break
    except Exception:
        pass
    finally:
        client.close(1000, "client left")


def _lagging_reason(last: int) -> str:
    return f"slow client: reconnect with ?after={last}"


@router.websocket("/stream")
async def run_list_stream(ws: WebSocket, service: ServiceDep, settings: SettingsDep) -> None:
    if await _refuse_foreign(ws, settings):
        return
    await ws.accept()
    client = service.subscribe_runs()
    watcher = asyncio.create_task(_watch_disconnect(ws, client))
    try:
        timeout = service.ws_send_timeout
        rows = await run_in_threadpool(service.list_runs, 500, 0, None)
        runs = [service.view(r).model_dump(mode="json") for r in rows]
        await _send(ws, Outgoing(json.dumps({"type": "runs", "runs": runs})), timeout)
        while (msg := await client.get()) is not None:
            await _send(ws, msg, timeout)
        if client.overflowed:
            await ws.close(CLOSE_LAGGING, "slow client: reconnect")
        elif client.closed and client.closed[1] != "client left":
            await ws.close(*client.closed)
    except (WebSocketDisconnect, RuntimeError, OSError, ClientStalled):
        pass
    finally:
        watcher.cancel()
        service.unsubscribe_runs(client)


@router.websocket("/{run_id}/stream")
async def run_stream(
    ws: WebSocket,
    run_id: str,
    service: ServiceDep,
    settings: SettingsDep,
    after: Annotated[int, Query(ge=0, le=DB_INT_MAX)] = 0,
) -> None:
    if await _refuse_foreign(ws, settings):
        return
    await ws.accept()
    # Subscribe before reading the history: events are stored before they are
    # published, so history + live (deduplicated by seq) has no gap.
    client = service.subscribe(run_id)
    watcher = asyncio.create_task(_watch_disconnect(ws, client))
    last = after
    timeout = service.ws_send_timeout
    try:
        row = await run_in_threadpool(service.get, run_id)
        if row is None:
            await ws.close(CLOSE_NOT_FOUND, f"no run {run_id!r}")
            return
        ended = RunStatus(row.status) in TERMINAL_STATUSES
        while True:
            # Headers only; an event's bytes are read when it is its turn to be sent.
            page = await run_in_threadpool(
                service.events_after, run_id, last, HISTORY_PAGE, None, False
            )
            for stored in page:
                if stored.header.get("parts"):
                    full = await run_in_threadpool(service.event, run_id, stored.seq)
                    stored = full if full is not None else stored
                await _send(ws, encode_stored(run_id, stored), timeout)
                last = stored.seq
            if len(page) < HISTORY_PAGE:
                break
        notice = {"type": "history_end", "run_id": run_id, "seq": last, "status": row.status}
        await _send(ws, Outgoing(json.dumps(notice)), timeout)
        if ended:
            await ws.close(1000, "the run has ended")
            return
        while (msg := await client.get()) is not None:
            if msg.seq <= last:
                continue  # already sent with the history
            await _send(ws, msg, timeout)
            last = msg.seq
            if msg.terminal:
                await ws.close(1000, "the run has ended")
                return
        if client.overflowed:
            await ws.close(CLOSE_LAGGING, _lagging_reason(last))
        elif client.closed and client.closed[1] != "client left":
            await ws.close(*client.closed)
    except (WebSocketDisconnect, RuntimeError, OSError, ClientStalled):
        pass  # the client left mid-send, or was cut off
    finally:
        watcher.cancel()
        service.unsubscribe(run_id, client)
