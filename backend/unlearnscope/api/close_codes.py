"""WebSocket close codes: the one definition. The hub and the stream routes close with
these; the page reads them from `GET /api/options` (`close_codes`)."""

from __future__ import annotations

from enum import IntEnum


class CloseCode(IntEnum):
    NORMAL = 1000  # the run has ended (history sent), or the client left
    GOING_AWAY = 1001  # the server shuts down
    POLICY = 1008  # refused: the page's origin is not allowed
    LAGGING = 4001  # the client fell too far behind: reconnect with ?after=SEQ
    GONE = 4004  # the run was deleted, or there is no such run


def close_code_options() -> dict[str, int]:
    """{"normal": 1000, ...}: the codes by name, as the page reads them."""
    return {code.name.lower(): int(code) for code in CloseCode}
