"""Small ASGI guards: request-body size, and the Origin of state-changing requests."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any
from urllib.parse import urlsplit

from starlette.types import ASGIApp, Message, Receive, Scope, Send

UNSAFE_METHODS = ("POST", "PUT", "PATCH", "DELETE")
LOOPBACK_NAMES = ("127.0.0.1", "localhost", "::1")


def origin_allowed(
    origin: str | None,
    allowed: Iterable[str],
    bind_host: str,
    server_port: int | None,
    host_header: str | None,
) -> bool:
    """Is a browser page at `origin` allowed to talk to this server?

    No Origin header: not a browser (curl, scripts): allowed. Otherwise the origin must be
    listed in `allowed` ("*" allows all), or be this server itself: a loopback name or the
    bind address, on the server's port or on the port the browser used (the Host header,
    as behind a port mapping). Matching host names, not just Host == Origin, keeps a
    DNS-rebinding page out.
    """
    if origin is None:
        return True
    allowed = list(allowed)
    if "*" in allowed or origin.rstrip("/") in (a.rstrip("/") for a in allowed):
        return True
    parts = urlsplit(origin)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return False  # "null" (a file:// page, a sandboxed frame) and the like
    port = parts.port or (443 if parts.scheme == "https" else 80)
    own_names = set(LOOPBACK_NAMES)
    if bind_host not in ("0.0.0.0", "::", ""):
        own_names.add(bind_host)
    if parts.hostname not in own_names:
        return False
    ports = {server_port} if server_port else set()
    if host_header:
        host_port = urlsplit(f"//{host_header}").port
        ports.add(host_port or (443 if parts.scheme == "https" else 80))
    return port in ports


def scope_origin_allowed(scope: Scope, allowed: Iterable[str], bind_host: str) -> bool:
    headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope.get("headers", [])}
    server = scope.get("server") or (None, None)
    return origin_allowed(headers.get("origin"), allowed, bind_host, server[1], headers.get("host"))


class OriginGuard:
    """403 for a POST/PUT/PATCH/DELETE sent by a page of another origin (CSRF)."""

    def __init__(self, app: ASGIApp, allowed: list[str], bind_host: str) -> None:
        self.app = app
        self.allowed = allowed
        self.bind_host = bind_host

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] == "http"
            and scope["method"] in UNSAFE_METHODS
            and not scope_origin_allowed(scope, self.allowed, self.bind_host)
        ):
            await _json(
                send,
                403,
                {
                    "detail": "cross-origin request refused; add the page's "
                    "origin to UNLEARNSCOPE_ALLOWED_ORIGINS to allow it"
                },
            )
            return
        await self.app(scope, receive, send)


class BodyLimit:
    """413 for a request body over `limit` bytes, declared or streamed."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        for key, value in scope.get("headers", []):
            if key == b"content-length" and value.isdigit() and int(value) > self.limit:
                await _json(send, 413, {"detail": self._message()})
                return
        seen = 0
        refused = False

        async def counted() -> Message:
            nonlocal seen, refused
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.limit:
                    if not refused:
                        refused = True
                        await _json(send, 413, {"detail": self._message()})
                    return {"type": "http.disconnect"}  # the app stops reading
            return message

        async def guarded(message: Message) -> None:
            if not refused:  # after our 413, whatever the app answers is dropped
                await send(message)

        await self.app(scope, counted, guarded)

    def _message(self) -> str:
        return f"request body too large: at most {self.limit} bytes"


async def _json(send: Send, status: int, body: dict[str, Any]) -> None:
    data = json.dumps(body).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(data)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": data})
