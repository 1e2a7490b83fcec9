"""Issue 11, slow and stalled clients: replay holds one event's bytes at a time, and a
client that stops reading is cut off at the transport after UNLEARNSCOPE_WS_SEND_TIMEOUT."""

from __future__ import annotations

import base64
import os
import socket
import time
from pathlib import Path

from live_server import LiveServer
from unlearnscope.events import EventBase, FramesEvent, StatusEvent
from unlearnscope.presets import preset_config
from unlearnscope.states import RunStatus

MAPS = 1024 * 1024  # bytes of heatmaps per frame event


def _big_run(server: LiveServer, frames: int) -> str:
    store = server.service.store
    store.create("big", preset_config("tiny"), RunStatus.COMPLETED)
    events: list[EventBase] = [StatusEvent(seq=1, t=1.0, status="running")]
    for i in range(frames):
        events.append(
            FramesEvent(
                seq=i + 2,
                t=float(i),
                step=i + 1,
                size=512,
                count=2,
                maps=bytes([i % 256]) * MAPS,
                preds=[[0, 0], [0, 0]],
                confs=[[0.5, 0.5], [0.5, 0.5]],
                tars=[1.0, 1.0],
            )
        )
        if len(events) >= 8:
            store.append("big", events)
            events = []
    events.append(StatusEvent(seq=frames + 2, t=1.0, status="completed", step=frames))
    store.append("big", events)
    return "big"


def _handshake(port: int, path: str) -> socket.socket:
    """A WebSocket client that never reads past the handshake, with a tiny receive buffer."""
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.connect(("127.0.0.1", port))
    key = base64.b64encode(os.urandom(16)).decode()
    sock.sendall(
        (
            f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\n"
            f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
            "Sec-WebSocket-Version: 13\r\n\r\n"
        ).encode()
    )
    head = b""
    while b"\r\n\r\n" not in head:
        head += sock.recv(1)
    assert head.startswith(b"HTTP/1.1 101"), head
    return sock


def test_a_client_that_stops_reading_is_cut_off(tmp_path: Path) -> None:
    with LiveServer(tmp_path, tmp_path / "cache", ws_send_timeout=1.0) as server:
        run_id = _big_run(server, 48)
        sock = _handshake(server.port, f"/api/runs/{run_id}/stream")
        try:
            deadline = time.monotonic() + 60
            seen = False
            while time.monotonic() < deadline:
                clients = server.service.hub.clients(run_id)
                seen = seen or clients == 1
                if seen and clients == 0:
                    break
                time.sleep(0.1)
            assert seen and server.service.hub.clients(run_id) == 0, "never cut off"
            # The connection is gone at the transport: reading ends, data or not.
            sock.settimeout(30)
            try:
                while sock.recv(1 << 20):
                    pass
            except ConnectionResetError:
                pass
        finally:
            sock.close()


def test_replay_reads_the_bytes_of_one_event_at_a_time(tmp_path: Path, monkeypatch) -> None:
    from websockets.sync.client import connect

    with LiveServer(tmp_path, tmp_path / "cache") as server:
        run_id = _big_run(server, 6)
        store = server.service.store
        calls: list[tuple[int, bool]] = []
        real = store.events_after

        def spy(run, after=0, limit=1000, types=None, with_bytes=True):
            calls.append((limit, with_bytes))
            return real(run, after, limit, types, with_bytes)

        monkeypatch.setattr(store, "events_after", spy)
        got = 0
        with connect(server.ws_url(f"/api/runs/{run_id}/stream"), max_size=None) as ws:
            for message in ws:
                got += isinstance(message, bytes)
        assert got == 6
        assert calls and all(limit == 1 for limit, with_bytes in calls if with_bytes)
