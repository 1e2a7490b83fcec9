"""Who may talk to the server: a token off loopback, and the Host header.

A lab tool's authentication, as notebook servers do it: bound beyond loopback, the server
requires a token, generated at start (printed in the URL `http://HOST:PORT/?token=...`)
or set as UNLEARNSCOPE_TOKEN. The page's first load with `?token=` stores it in an
HttpOnly, SameSite=Strict cookie and reloads the page without it; scripts send
`Authorization: Bearer TOKEN`, or `?token=` on a WebSocket URL. On loopback no token is
needed unless one is set.

The Host header is checked by Starlette's TrustedHostMiddleware against the loopback
names, the bind address and UNLEARNSCOPE_ALLOWED_HOSTS: a DNS-rebinding page (a name of
the attacker's that resolves to this machine) is refused. Bound to 0.0.0.0 or ::, any
Host is allowed, because the server cannot know every name and address it is reached by;
the token then defeats rebinding instead: the attacker's page has no cookie for its own
name and cannot read the token.
"""

from __future__ import annotations

import html
import secrets
from http.cookies import SimpleCookie
from typing import Any
from urllib.parse import parse_qsl, urlencode

from starlette.types import ASGIApp, Receive, Scope, Send

from ..settings import Settings
from .middleware import send_json

LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")
WILDCARD_HOSTS = ("0.0.0.0", "::", "")
COOKIE = "unlearnscope_token"
QUERY = "token"
# Open without the token: the health check of containers and load balancers (it tells
# only that the server is up, its version, device and run counts).
OPEN_PATHS = ("/api/health",)


def token_required(settings: Settings) -> bool:
    """A token is required when one is set, or when the server listens beyond loopback."""
    return bool(settings.token) or settings.host not in LOOPBACK_HOSTS


def ensure_token(settings: Settings) -> str | None:
    """The token in force: the configured one, a new one when required, else None."""
    if token_required(settings) and not settings.token:
        settings.token = secrets.token_urlsafe(32)
    return settings.token or None


def allowed_hosts(settings: Settings) -> list[str]:
    """Host names (and addresses) the server answers to; ["*"] when bound to all."""
    if settings.host in WILDCARD_HOSTS:
        return ["*"]
    names = [*LOOPBACK_HOSTS, "[::1]", settings.host, *settings.allowed_hosts]
    if ":" in settings.host:
        names.append(f"[{settings.host}]")
    return list(dict.fromkeys(n.lower() for n in names))


def token_matches(given: str | None, token: str) -> bool:
    return given is not None and secrets.compare_digest(given.encode(), token.encode())


def _headers(scope: Scope) -> dict[str, str]:
    return {k.decode("latin-1"): v.decode("latin-1") for k, v in scope.get("headers", [])}


class TokenGuard:
    """401 for a request or WebSocket without the token; sets the page's cookie."""

    def __init__(self, app: ASGIApp, token: str) -> None:
        self.app = app
        self.token = token

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        if scope["type"] == "http" and scope["path"] in OPEN_PATHS:
            await self.app(scope, receive, send)
            return
        headers = _headers(scope)
        query = parse_qsl(scope.get("query_string", b"").decode("latin-1"), True)
        from_query = next((v for k, v in query if k == QUERY), None)
        bearer = headers.get("authorization", "")
        from_header = bearer[7:].strip() if bearer[:7].lower() == "bearer " else None
        cookie = SimpleCookie()
        try:
            cookie.load(headers.get("cookie", ""))
        except Exception:  # a malformed Cookie header counts as none
            cookie = SimpleCookie()
        from_cookie = cookie[COOKIE].value if COOKIE in cookie else None
        if (
            scope["type"] == "http"
            and scope["method"] in ("GET", "HEAD")
            and not scope["path"].startswith("/api/")
            and token_matches(from_query, self.token)
        ):
            rest = urlencode([(k, v) for k, v in query if k != QUERY])
            await self._set_cookie(send, scope["path"] + (f"?{rest}" if rest else ""))
            return
        if any(token_matches(t, self.token) for t in (from_header, from_cookie, from_query)):
            await self.app(scope, receive, send)
            return
        body = {
            "detail": "authentication required: open the URL with ?token=... that "
            "`unlearnscope serve` printed (or the UNLEARNSCOPE_TOKEN you set); scripts send "
            "'Authorization: Bearer <token>', WebSockets may add ?token=<token>",
        }
        if scope["type"] == "websocket":
            await _deny_websocket(scope, receive, send, body)
            return
        await send_json(send, 401, body, [(b"www-authenticate", b"Bearer")])

    async def _set_cookie(self, send: Send, location: str) -> None:
        """The cookie, and the page again without the token in its URL.

        A page that reloads itself (meta refresh), not an HTTP redirect: after a redirect
        that began on another site (a link in a chat), browsers would not send a
        SameSite=Strict cookie; a navigation the page itself starts is same-site.
        """
        target = html.escape(location, quote=True)
        page = (
            "<!doctype html><meta charset=utf-8>"
            f'<meta http-equiv="refresh" content="0;url={target}">'
            f'<title>UnlearnScope</title><a href="{target}">Open the dashboard</a>'
        ).encode()
        cookie = f"{COOKIE}={self.token}; HttpOnly; SameSite=Strict; Path=/"
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [
                    (b"content-type", b"text/html; charset=utf-8"),
                    (b"content-length", str(len(page)).encode()),
                    (b"set-cookie", cookie.encode("latin-1")),
                    (b"cache-control", b"no-store"),
                    (b"referrer-policy", b"no-referrer"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": page})


async def _deny_websocket(scope: Scope, receive: Receive, send: Send, body: dict[str, Any]) -> None:
    if "websocket.http.response" in scope.get("extensions", {}):
        await send_json(send, 401, body, [], prefix="websocket.")
    else:
        await send({"type": "websocket.close", "code": 1008, "reason": "token required"})
