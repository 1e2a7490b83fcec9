"""Domain errors, and the one place that maps them (and bad input) to HTTP answers.

Every error answer is JSON: `{"detail": "<what went wrong and what to do>", ...}` plus,
where it helps, `errors` (one line per bad field), `state` (the run's current status) or
`reason` (why the engine refused).
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from ..config import describe_errors


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


STATUS_CODES: dict[type[DomainError], int] = {
    RunNotFound: 404,
    NotAvailable: 404,
    WrongState: 409,
    EditRefused: 409,
    InvalidInput: 422,
    EngineTimeout: 504,
}


def status_code(err: DomainError) -> int:
    for cls in type(err).__mro__:
        if cls in STATUS_CODES:
            return STATUS_CODES[cls]  # type: ignore[index]
    return 400


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(DomainError)
    async def _domain(request: Request, err: DomainError) -> JSONResponse:
        return JSONResponse({"detail": err.detail, **err.extra}, status_code=status_code(err))

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, err: RequestValidationError) -> JSONResponse:
        lines = describe_errors(list(err.errors()))
        fields = [line.split(":", 1)[0] for line in lines]
        return JSONResponse(
            {"detail": "invalid request: " + "; ".join(lines), "errors": lines, "fields": fields},
            status_code=422,
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, err: StarletteHTTPException) -> JSONResponse:
        return JSONResponse(
            {"detail": err.detail}, status_code=err.status_code, headers=err.headers
        )
