"""Run states: the one definition. Everything else (the engine, events, the database, the
API, the page via `GET /api/options`) takes its lists from here.

    queued -> preparing -> running <-> paused -> completed | stopped | failed
                                      (server gone while active)  -> interrupted
"""

from __future__ import annotations

from enum import Enum
from typing import Literal, get_args

RunState = Literal[
    "queued",  # waiting for a free worker slot (the server's, never an engine's)
    "preparing",  # data, backdoored model, Fisher
    "running",
    "paused",
    "stopped",  # by the user; the model so far is saved
    "completed",
    "failed",  # the message says why
    "interrupted",  # the server stopped while the run was active (the server's)
]


class RunStatus(str, Enum):
    QUEUED = "queued"
    PREPARING = "preparing"
    RUNNING = "running"
    PAUSED = "paused"
    STOPPED = "stopped"
    COMPLETED = "completed"
    FAILED = "failed"
    INTERRUPTED = "interrupted"

    @property
    def state(self) -> RunState:
        return self.value


# A worker holds the run (it may be stepping, paused, or preparing).
ACTIVE_STATUSES = (RunStatus.PREPARING, RunStatus.RUNNING, RunStatus.PAUSED)
# The engine takes steps or is paused between them: pause, resume, stop and edits apply.
STEPPING_STATUSES = (RunStatus.RUNNING, RunStatus.PAUSED)
# The run has not ended: queued, or active.
LIVE_STATUSES = (RunStatus.QUEUED, *ACTIVE_STATUSES)
# Nothing more happens to the run; its last status event says which of these it is.
TERMINAL_STATUSES = (
    RunStatus.STOPPED,
    RunStatus.COMPLETED,
    RunStatus.FAILED,
    RunStatus.INTERRUPTED,
)

assert {s.value for s in RunStatus} == set(get_args(RunState))
assert set(LIVE_STATUSES) | set(TERMINAL_STATUSES) == set(RunStatus)


def state_lists() -> dict[str, list[str]]:
    """The lists the page needs, by name (served in /api/options)."""
    return {
        "all": [s.value for s in RunStatus],
        "active": [s.value for s in ACTIVE_STATUSES],
        "stepping": [s.value for s in STEPPING_STATUSES],
        "live": [s.value for s in LIVE_STATUSES],
        "terminal": [s.value for s in TERMINAL_STATUSES],
    }
