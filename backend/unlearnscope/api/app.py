"""The app factory: `create_app(settings)` builds an isolated server (tests use tmp dirs).

/api/...            the HTTP API and WebSockets (see /docs)
/vendor/plotly.min.js   Plotly.js from the installed `plotly` package (no CDN)
/                   the static page in frontend/
"""

from __future__ import annotations

import importlib.util
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI, HTTPException
from fastapi.responses import FileResponse, PlainTextResponse
from fastapi.staticfiles import StaticFiles
from starlette.routing import Match, Mount
from starlette.types import ASGIApp, Receive, Scope, Send

from .. import __version__
from ..settings import Settings
from .auth import TokenGuard, allowed_hosts, ensure_token
from .errors import install_error_handlers
from .middleware import BodyLimit, HostCheck, OriginGuard, TransportAccess, send_json
from .openapi import install_openapi
from .routes import compare, export, files, history, meta, report, runs, samples, stream, sweeps
from .service import RunService

log = logging.getLogger(__name__)

DESCRIPTION = """\
Runs backdoor unlearning in worker processes and streams ASR, clean accuracy, TAR and
Grad-CAM heatmaps. Start a run with `POST /api/runs?preset=tiny`, watch it on
`WS /api/runs/{id}/stream`, control it with `POST /api/runs/{id}/pause|resume|stop` and
`PATCH /api/runs/{id}/schedule`. Errors are JSON with a `detail` a person can act on.
"""


def packaged_frontend_dir() -> Path:
    """The page shipped in the package: `unlearnscope/frontend` (in a checkout a link to the
    repository's frontend/, in a wheel a copy of it)."""
    return Path(__file__).resolve().parent.parent / "frontend"


def plotly_js() -> Path | None:
    """plotly.min.js inside the installed `plotly` package, without importing it."""
    spec = importlib.util.find_spec("plotly")
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(next(iter(spec.submodule_search_locations))) / "package_data" / "plotly.min.js"
    return path if path.is_file() else None


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    token = ensure_token(settings)  # generated here when bound beyond loopback
    service = RunService(settings)
    service.lifecycle.check_schema()  # a database a newer release wrote: refused now

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await service.start()
        try:
            yield
        finally:
            await service.shutdown()

    app = FastAPI(
        title="UnlearnScope",
        version=__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.service = service
    install_error_handlers(app)
    # Outermost last: transport handle, Host check, token, Origin check, body size.
    # an upload's multipart body: the file plus a little framing
    uploads = {"/api/files": settings.max_upload_bytes + 64 * 1024}
    app.add_middleware(BodyLimit, limit=settings.max_body_bytes, larger=uploads)
    app.add_middleware(
        OriginGuard,
        allowed=settings.allowed_origins,
        bind_host=settings.host,
        same_host=token is not None,
    )
    if token is not None:
        app.add_middleware(TokenGuard, token=token)
    app.add_middleware(HostCheck, allowed_hosts=allowed_hosts(settings))
    app.add_middleware(TransportAccess)
    for module in (meta, runs, history, samples, export, report, stream, compare, sweeps, files):
        app.include_router(module.router)
    _mount_static(app, settings)
    install_openapi(app)
    return app


class ApiOrStatic:
    """The static page, except under /api/: there a path no route serves is a JSON 404,
    and a method a route does not take is a 405 listing the methods it does take."""

    def __init__(self, app: FastAPI, static: ASGIApp) -> None:
        self.app = app
        self.static = static

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if scope["type"] != "http" or not (path == "/api" or path.startswith("/api/")):
            await self.static(scope, receive, send)
            return
        methods = set()
        routes = [r for r in self.app.router.routes if not isinstance(r, Mount)]
        for method in ("GET", "POST", "PUT", "PATCH", "DELETE"):
            probe = {**scope, "type": "http", "method": method}
            if any(route.matches(probe)[0] is Match.FULL for route in routes):
                methods.add(method)
        if methods:
            allow = ", ".join(sorted(methods))
            detail = f"method {scope['method']} not allowed here; allowed: {allow}"
            await send_json(send, 405, {"detail": detail}, [(b"allow", allow.encode())])
        else:
            await send_json(send, 404, {"detail": f"no API path {path!r}; see /docs"})


def _mount_static(app: FastAPI, settings: Settings) -> None:
    js = plotly_js()

    @app.get("/vendor/plotly.min.js", include_in_schema=False)
    def plotly() -> FileResponse:
        if js is None:
            raise HTTPException(404, "the `plotly` Python package is not installed here")
        return FileResponse(
            js, media_type="text/javascript", headers={"Cache-Control": "public, max-age=86400"}
        )

    folder = settings.frontend_dir or packaged_frontend_dir()
    if folder.is_dir():
        static = StaticFiles(directory=folder, html=True)
        app.mount("/", ApiOrStatic(app, static), name="frontend")
    else:
        log.warning("no frontend folder at %s; set UNLEARNSCOPE_FRONTEND_DIR", folder)

        @app.get("/", include_in_schema=False)
        def no_frontend() -> PlainTextResponse:
            return PlainTextResponse(
                f"UnlearnScope API is up (see /docs); no page found at {folder}: set "
                "UNLEARNSCOPE_FRONTEND_DIR to the frontend/ folder",
            )
