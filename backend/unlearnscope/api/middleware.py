"""Small ASGI guards: request-body size, the Origin of state-changing requests, the Host
header (Starlette's TrustedHostMiddleware, answering JSON), and a handle on a WebSocket's
transport so that a stalled client can be cut off."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any
from urllib.parse import urlsplit

from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

UNSAFE_METHODS = ("POST", "PUT", "PATCH", "DELETE")
LOOPBACK_NAMES = ("127.0.0.1", "localhost", "::1")


def origin_allowed(
    origin: str | None,
    allowed: Iterable[str],
    bind_host: str,
    server_port: int | None,
    host_header: str | None,
    same_host: bool = False,
) -> bool:
    """Is a browser page at `origin` allowed to talk to this server?

    No Origin header: not a browser (curl, scripts): allowed. Otherwise the origin must be
    listed in `allowed` ("*" allows all), or be this server itself: a loopback name or the
    bind address, on the server's port or on the port the browser used (the Host header,
    as behind a port mapping). Matching host names, not just Host == Origin, keeps a
    DNS-rebinding page out.

    With `same_host` (a token is required: bound beyond loopback), a page whose origin is
    the host:port the request came on (its Host header) is this server's own page, at
    whatever address the browser reached it (`http://<lan-ip>:PORT`). A rebinding page
    passes this too, but has no token.
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
    if same_host and host_header:
        try:
            host = urlsplit(f"//{host_header}")
            host_port = host.port or (443 if parts.scheme == "https" else 80)
        except ValueError:
            return False
        if host.hostname == parts.hostname and host_port == port:
            return True
    own_names = set(LOOPBACK_NAMES)
    if bind_host not in ("0.0.0.0", "::", ""):
        own_names.add(bind_host)
    if parts.hostname not in own_names:
        return False
    ports = {server_port} if server_port else set()
    if host_header:
        header_port = urlsplit(f"//{host_header}").port
        ports.add(header_port or (443 if parts.scheme == "https" else 80))
    return port in ports


def scope_origin_allowed(
    scope: Scope, allowed: Iterable[str], bind_host: str, same_host: bool = False
) -> bool:
    headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope.get("headers", [])}
    server = scope.get("server") or (None, None)
    try:
        return origin_allowed(
            headers.get("origin"), allowed, bind_host, server[1], headers.get("host"), same_host
        )
    except ValueError:  # a malformed Origin or Host (a port that is not a number)
        return False


class OriginGuard:
    """403 for a POST/PUT/PATCH/DELETE sent by a page of another origin (CSRF)."""

    def __init__(
        self, app: ASGIApp, allowed: list[str], bind_host: str, same_host: bool = False
    ) -> None:
        self.app = app
        self.allowed = allowed
        self.bind_host = bind_host
        self.same_host = same_host

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] == "http"
            and scope["method"] in UNSAFE_METHODS
            and not scope_origin_allowed(scope, self.allowed, self.bind_host, self.same_host)
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
    """413 for a request body over `limit` bytes, declared or streamed; paths in
    `larger` (uploads) have their own limit."""

    def __init__(self, app: ASGIApp, limit: int, larger: dict[str, int] | None = None) -> None:
        self.app = app
        self.default = limit
        self.larger = larger or {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.larger.get(scope.get("path", ""), self.default)
        refusal = self._message(limit)
        for key, value in scope.get("headers", []):
            if key == b"content-length" and value.isdigit() and int(value) > limit:
                await _json(send, 413, {"detail": refusal})
                return
        seen = 0
        refused = False

        async def counted() -> Message:
            nonlocal seen, refused
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    if not refused:
                        refused = True
                        await _json(send, 413, {"detail": refusal})
                    return {"type": "http.disconnect"}  # the app stops reading
            return message

        async def guarded(message: Message) -> None:
            if not refused:  # after our 413, whatever the app answers is dropped
                await send(message)

        await self.app(scope, counted, guarded)

    @staticmethod
    def _message(limit: int) -> str:
        return f"request body too large: at most {limit} bytes"


class HostCheck:
    """Starlette's TrustedHostMiddleware decides; a refusal is answered 400 in JSON."""

    _OK = "unlearnscope.host_ok"

    def __init__(self, app: ASGIApp, allowed_hosts: list[str]) -> None:
        self.app = app
        self.allowed_hosts = allowed_hosts
        self.trusted = TrustedHostMiddleware(self._mark, allowed_hosts, www_redirect=False)

    async def _mark(self, scope: Scope, receive: Receive, send: Send) -> None:
        scope[self._OK] = True

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return

        async def discard(message: Message) -> None:
            pass  # TrustedHostMiddleware's plain-text refusal; ours is JSON

        await self.trusted(scope, receive, discard)
        if scope.pop(self._OK, False):
            await self.app(scope, receive, send)
            return
        body = {
            "detail": "this Host header is not one of the server's names; add it to "
            "UNLEARNSCOPE_ALLOWED_HOSTS to allow it"
        }
        prefix = "websocket." if scope["type"] == "websocket" else ""
        if prefix and "websocket.http.response" not in scope.get("extensions", {}):
            await send({"type": "websocket.close", "code": 1008, "reason": "host not allowed"})
            return
        await _json(send, 400, body, prefix)


TRANSPORT_KEY = "unlearnscope.transport"


class TransportAccess:
    """Put the connection's transport in a WebSocket's scope (uvicorn's `send` is a
    method of its protocol), so that a client that stopped reading can be cut off at
    the transport: a close frame would queue behind the data it does not read."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket":
            transport = getattr(getattr(send, "__self__", None), "transport", None)
            if transport is not None and hasattr(transport, "abort"):
                scope[TRANSPORT_KEY] = transport
        await self.app(scope, receive, send)


async def _json(send: Send, status: int, body: dict[str, Any], prefix: str = "") -> None:
    await send_json(send, status, body, prefix=prefix)


async def send_json(
    send: Send,
    status: int,
    body: dict[str, Any],
    headers: list[tuple[bytes, bytes]] | None = None,
    prefix: str = "",
) -> None:
    """A whole JSON answer, straight on the ASGI `send` (`prefix` "websocket." for a
    WebSocket denial response)."""
    data = json.dumps(body).encode()
    await send(
        {
            "type": f"{prefix}http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(data)).encode()),
                *(headers or []),
            ],
        }
    )
    await send({"type": f"{prefix}http.response.body", "body": data})
