"""`Annotated` dependency aliases: what a route needs, by name."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends
from starlette.requests import HTTPConnection

from ..settings import Settings
from ..storage.tables import RunRow
from .service import RunService


def get_service(conn: HTTPConnection) -> RunService:
    service: RunService = conn.app.state.service  # set by create_app
    return service


def get_settings(conn: HTTPConnection) -> Settings:
    settings: Settings = conn.app.state.settings  # set by create_app
    return settings


ServiceDep = Annotated[RunService, Depends(get_service)]
SettingsDep = Annotated[Settings, Depends(get_settings)]


def get_run(run_id: str, service: ServiceDep) -> RunRow:
    """The run named in the path, or 404."""
    return service.require(run_id)


RunDep = Annotated[RunRow, Depends(get_run)]
