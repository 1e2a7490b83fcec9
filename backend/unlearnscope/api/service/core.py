"""`ServerCore`: the state every job of the run service shares, passed as one object.

The settings, what is stored (the run store and the artifact files), who is live (the
hub's clients, the pool's slots, the per-run server state, the server-wide conditions) and
the view of a run that clients see. Built once by the facade (`RunService`); the jobs take
it plus the one or two other jobs they call.
"""

from __future__ import annotations

from dataclasses import dataclass

from ...settings import Settings
from ...storage.artifacts import ArtifactFiles
from ...storage.runs import RunStore
from ...worker.pool import RunPool
from ..hub import Hub
from .conditions import Conditions
from .live import LiveRuns
from .views import RunViews


@dataclass(frozen=True)
class ServerCore:
    settings: Settings
    store: RunStore  # runs and their event log
    files: ArtifactFiles  # saved models, exports
    hub: Hub  # fan-out to WebSocket clients
    pool: RunPool  # which run gets a worker when
    live: LiveRuns  # per-run server state (workers, phases, overrides)
    conditions: Conditions  # read-only, disk full, shutting down, device
    views: RunViews  # a stored run as clients see it
