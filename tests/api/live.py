"""A real uvicorn on 127.0.0.1 (in a thread of the test process) and a WebSocket reader.

Running the server in-process lets a test reach its service (for a worker's pid) while
every request still goes over real sockets.
"""

from __future__ import annotations

import base64
import json
import os
import socket
import struct
import time
from dataclasses import dataclass, field
from typing import Any

from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, connect

from live_server import TIMEOUT, LiveServer  # noqa: F401  (the tests import both from here)
from unlearnscope.storage.codec import unpack_frame


def tiny(
    name: str = "t",
    ascent: int = 2,
    recovery: int = 4,
    monitor: dict[str, Any] | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """A tiny-preset body (POST /api/runs?preset=tiny) with a schedule of this length.

    Monitoring runs at fixed intervals (no wall-time budget), so every step sends its
    heatmap frame and the streams are the same from run to run.
    """
    return {
        "name": name,
        "schedule": [
            {"kind": "ascent", "steps": ascent, "lr": 0.01, "batch_size": 16, "ewc_lambda": 10},
            {"kind": "recovery", "steps": recovery, "lr": 0.01, "batch_size": 16},
        ],
        "monitor": {"budget": 0, **(monitor or {})},
        **extra,
    }


@dataclass
class Message:
    header: dict[str, Any]
    parts: dict[str, bytes] | None  # binary frames only
    received: float  # time.time() at receipt

    @property
    def seq(self) -> int:
        return int(self.header.get("seq", 0))

    @property
    def type(self) -> str:
        return str(self.header.get("type"))


def decode(raw: str | bytes) -> tuple[dict[str, Any], dict[str, bytes] | None]:
    if isinstance(raw, bytes):
        return unpack_frame(raw)
    return json.loads(raw), None


@dataclass
class Stream:
    """Everything one WebSocket connection received, and how it closed."""

    messages: list[Message] = field(default_factory=list)
    close_code: int | None = None
    close_reason: str = ""

    @property
    def events(self) -> list[Message]:
        """Run events (and skip notices, which stand in for dropped frames)."""
        return [m for m in self.messages if m.type != "history_end"]

    @property
    def seqs(self) -> list[int]:
        return [m.seq for m in self.events]


def open_ws(url: str, origin: str | None = None, **kwargs: Any) -> ClientConnection:
    return connect(url, origin=origin, open_timeout=30, max_size=None, **kwargs)  # type: ignore[arg-type]


class StalledClient:
    """A WebSocket client on a bare socket that reads nothing until `read_all` is called.

    (The `websockets` client keeps reading into memory in a background thread, so it
    cannot stall a server.) A small fixed receive buffer makes the server feel the stall
    after a few megabytes. Server frames are unmasked and unfragmented.
    """

    def __init__(self, url: str, rcvbuf: int = 32 * 1024) -> None:
        rest = url.split("//", 1)[1]
        hostport, path = rest.split("/", 1)
        host, port = hostport.rsplit(":", 1)
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        self.sock.settimeout(TIMEOUT)
        self.sock.connect((host, int(port)))
        key = base64.b64encode(os.urandom(16)).decode()
        self.sock.sendall(
            f"GET /{path} HTTP/1.1\r\nHost: {hostport}\r\nUpgrade: websocket\r\n"
            f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
            "Sec-WebSocket-Version: 13\r\n\r\n".encode()
        )
        self.buf = b""
        while b"\r\n\r\n" not in self.buf:
            self.buf += self._recv()
        head, self.buf = self.buf.split(b"\r\n\r\n", 1)
        assert head.startswith(b"HTTP/1.1 101"), head

    def _recv(self) -> bytes:
        data = self.sock.recv(65536)
        if not data:
            raise ConnectionError("the server closed the connection")
        return data

    def _take(self, n: int) -> bytes:
        while len(self.buf) < n:
            self.buf += self._recv()
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def read_all(self, stream: Stream | None = None) -> Stream:
        stream = stream or Stream()
        while True:
            b0, b1 = self._take(2)
            opcode, n = b0 & 0x0F, b1 & 0x7F
            if n == 126:
                n = struct.unpack(">H", self._take(2))[0]
            elif n == 127:
                n = struct.unpack(">Q", self._take(8))[0]
            payload = self._take(n)
            if opcode == 8:  # close
                stream.close_code = struct.unpack(">H", payload[:2])[0] if n >= 2 else None
                stream.close_reason = payload[2:].decode()
                self.sock.close()
                return stream
            if opcode in (1, 2):
                header, parts = decode(payload.decode() if opcode == 1 else payload)
                stream.messages.append(Message(header, parts, time.time()))

    def close(self) -> None:
        self.sock.close()


def read_all(
    ws: ClientConnection, stream: Stream | None = None, until: Any = None, timeout: float = TIMEOUT
) -> Stream:
    """Read until the server closes (or `until(message)` is true)."""
    stream = stream or Stream()
    deadline = time.monotonic() + timeout
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            raise AssertionError(f"the stream did not end within {timeout} s")
        try:
            raw = ws.recv(timeout=left)
        except ConnectionClosed as closed:
            if closed.rcvd is not None:
                stream.close_code, stream.close_reason = closed.rcvd.code, closed.rcvd.reason
            return stream
        header, parts = decode(raw)
        msg = Message(header, parts, time.time())
        stream.messages.append(msg)
        if until is not None and until(msg):
            return stream
