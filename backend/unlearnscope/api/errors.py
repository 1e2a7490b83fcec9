"""Domain errors, and the one place that maps them (and bad input) to HTTP answers.

Every error answer is JSON: `{"detail": "<what went wrong and what to do>", ...}` plus,
where it helps, `errors` (one line per bad field), `state` (the run's current status),
`reason` (why the engine refused) or `limit` (the server limit a request went past).
A 500 says only the error's type; its traceback goes to the server log, never to a client.
The database failing (full, read-only, unreadable) is no 500: 507 for a full disk, else
503, with the database's own one-line reason.
A refused WebSocket handshake gets the same JSON, as an HTTP answer (the denial-response
extension), or a close with code 1008 where the server cannot send one.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request, WebSocket
from fastapi.exceptions import RequestValidationError, WebSocketRequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DBAPIError
from starlette.exceptions import HTTPException as StarletteHTTPException

from ..config import describe_errors
from ..storage.db import is_disk_full

log = logging.getLogger(__name__)


class DomainError(Exception):
    """Base of the errors a route may raise; `extra` goes into the JSON answer."""

    def __init__(self, detail: str, **extra: Any) -> None:
        super().__init__(detail)
        self.detail = detail
        self.extra = extra


class RunNotFound(DomainError):
    def __init__(self, run_id: str) -> None:
        super().__init__(f"no run {run_id!r}; GET /api/runs lists the runs", run_id=run_id)


class NotAvailable(DomainError):
    """A thing the run does not have (yet): frames at a step, a saved model."""


class WrongState(DomainError):
    """The run is in a state where this action makes no sense; nothing was changed."""

    def __init__(self, detail: str, state: str) -> None:
        super().__init__(detail, state=state)


class EditRefused(DomainError):
    """The engine refused a schedule edit; the schedule in force is unchanged."""

    def __init__(self, reason: str, state: str, step: int, schedule: list[Any]) -> None:
        super().__init__(
            f"schedule edit refused: {reason}",
            reason=reason,
            state=state,
            step=step,
            schedule=schedule,
        )


class InvalidInput(DomainError):
    """Input that passed the schema but not the run (a sample index past the test set)."""


class EngineTimeout(DomainError):
    """The worker did not answer in time; the request may still take effect."""


class LimitExceeded(DomainError):
    """A valid request past one of the server's limits; `limit` names the setting."""

    def __init__(self, detail: str, limit: str, field: str | None = None) -> None:
        fields = [field] if field else []
        line = f"{field}: {detail}" if field else detail
        super().__init__(detail, limit=limit, errors=[line], fields=fields)


class TooManyQueued(DomainError):
    """This client has as many runs waiting as the server allows."""

    def __init__(self, detail: str, limit: str) -> None:
        super().__init__(detail, limit=limit)


class TooLarge(DomainError):
    """An upload past the server's size limits (bytes, unpacked bytes, archive entries)."""


class DiskFull(DomainError):
    """The server's disk is full: nothing new can be stored."""


class ReadOnly(DomainError):
    """The server serves its history read-only (its home folder cannot be written)."""


STATUS_CODES: dict[type[DomainError], int] = {
    RunNotFound: 404,
    NotAvailable: 404,
    WrongState: 409,
    EditRefused: 409,
    InvalidInput: 422,
    LimitExceeded: 422,
    TooLarge: 413,
    TooManyQueued: 429,
    ReadOnly: 503,
    EngineTimeout: 504,
    DiskFull: 507,
}


def validation_body(errors: list[Any]) -> dict[str, Any]:
    """The 422 body of a request that failed the schema: detail, errors, fields."""
    lines = describe_errors(list(errors))
    fields = [line.split(":", 1)[0] for line in lines]
    return {"detail": "invalid request: " + "; ".join(lines), "errors": lines, "fields": fields}


async def deny_websocket(ws: WebSocket, status: int, body: dict[str, Any]) -> None:
    """Refuse a WebSocket handshake with an HTTP status and a JSON body."""
    if "websocket.http.response" in ws.scope.get("extensions", {}):
        await ws.send_denial_response(JSONResponse(body, status_code=status))
    else:
        await ws.close(code=1008, reason=str(body.get("detail", ""))[:120])


def database_body(err: DBAPIError) -> dict[str, Any]:
    """The answer when the database fails: its one-line reason, never the SQL."""
    reason = str(err.orig).split("\n", 1)[0][:200]
    if is_disk_full(err):
        detail = f"the disk is full ({reason}): nothing can be stored; free some space"
    else:
        detail = (
            f"the database cannot answer now ({type(err.orig).__name__}: {reason}); "
            "GET /api/health says whether the server is read-only, and why"
        )
    return {"detail": detail, "reason": reason}


def status_code(err: DomainError) -> int:
    for cls in type(err).__mro__:
        if cls in STATUS_CODES:
            return STATUS_CODES[cls]
    return 400


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(DomainError)
    async def _domain(request: Request, err: DomainError) -> JSONResponse:
        return JSONResponse({"detail": err.detail, **err.extra}, status_code=status_code(err))

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, err: RequestValidationError) -> JSONResponse:
        return JSONResponse(validation_body(list(err.errors())), status_code=422)

    @app.exception_handler(WebSocketRequestValidationError)
    async def _invalid_ws(ws: WebSocket, err: WebSocketRequestValidationError) -> None:
        await deny_websocket(ws, 422, validation_body(list(err.errors())))

    @app.exception_handler(DBAPIError)
    async def _database(request: Request, err: DBAPIError) -> JSONResponse:
        log.error("%s %s: the database failed: %s", request.method, request.url.path, err.orig)
        return JSONResponse(database_body(err), status_code=507 if is_disk_full(err) else 503)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, err: Exception) -> JSONResponse:
        # The traceback goes to the server log (uvicorn logs it too); the client gets
        # the type only: messages of unexpected errors may hold server paths.
        log.error("%s %s failed", request.method, request.url.path, exc_info=err)
        return JSONResponse(
            {
                "detail": f"internal server error ({type(err).__name__}); the server log has "
                "the details",
                "error": type(err).__name__,
            },
            status_code=500,
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, err: StarletteHTTPException) -> JSONResponse:
        return JSONResponse(
            {"detail": err.detail}, status_code=err.status_code, headers=err.headers
        )
