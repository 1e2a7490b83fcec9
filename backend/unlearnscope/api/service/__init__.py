"""The run service: what the routes ask for, in domain terms. `RunService` is the facade;
each job lives in its own module, and each module's docstring says which threads call it
and which shared state it touches:

    live.py        per-run server state (workers, phases, overrides, ...), one lock
    conditions.py  server-wide conditions (read-only, disk full, shutting down, device)
    views.py       a stored run as clients see it
    lifecycle.py   start-up, recovery of interrupted runs, shutdown
    bridge.py      worker reader threads -> event loop: persist, then fan out
    requests.py    request/reply over a worker's control pipe
    workers.py     launch a run's worker; record how it ended
    admission.py   new runs: limits, data roots, disk space, queued runs per client
    controls.py    pause, resume, stop, schedule edits, delete
    inspection.py  sample inspection, live or from the saved model
    saved_runs.py  saved models loaded in the server process, for inspection
    exports.py     a run's export zip
    comparison.py  several runs compared; the leaderboard of defences per backdoored model
    sweeps.py      sweeps: a grid of runs from one base config, queued together

The pieces: the store (runs and their event log), the pool (which run gets a worker
when), the workers (one process or Ray actor per run: worker/executor.py) and the hub
(fan-out to clients). The facade only wires them and forwards; it keeps no state of its own.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any, BinaryIO

from ... import __version__
from ...config import CheckConfig, PhaseConfig, RunConfig
from ...events import (
    EventBase,
    MonitorStatus,
    PathEvaluated,
    ProbesEvent,
    RunStarted,
    SampleReport,
    ScheduleEdit,
)
from ...report.data import RunFacts, facts_from_store
from ...settings import Settings
from ...storage.artifacts import ArtifactFiles
from ...storage.db import Database
from ...storage.runs import RunStore, StoredEvent, StoredFrame
from ...storage.sweeps import SweepStore
from ...storage.tables import RunRow
from ...sweeps import SweepSpec
from ...worker.executor import RunHandle, make_executor
from ...worker.pool import RunPool
from ..errors import InvalidInput, TooLarge
from ..hub import ClientQueue, Hub
from ..schemas import ControlOut, RunOut
from .admission import Admission
from .bridge import EventBridge
from .checks import CheckFailed, ModelChecks
from .comparison import Comparisons
from .conditions import Conditions
from .controls import Controls
from .core import ServerCore
from .exports import Exports
from .inspection import Inspection
from .lifecycle import Lifecycle
from .live import LiveRuns
from .requests import ControlRequests
from .saved_runs import SavedRunCache
from .sweeps import Sweeps
from .uploads import Upload, UploadRefused, Uploads
from .views import RunViews
from .workers import LaunchCancelled, Workers

__all__ = ["LaunchCancelled", "RunService"]


class RunService:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.store = RunStore(Database(settings.db_url))
        self.files = ArtifactFiles(settings.artifacts_dir)
        self.hub = Hub(settings.ws_max_pending, settings.ws_max_frames)
        self.saved = SavedRunCache(settings.data_dir, settings.cache_dir / "data")
        self.live = LiveRuns()
        self.conditions = Conditions(device=settings.device)
        self.executor = make_executor(
            settings.executor, settings.ray_address, settings.ray_num_cpus, settings.ray_num_gpus
        )
        self.pool = RunPool(
            self.executor.pool_size(settings.max_active_runs),
            lambda run_id: self.workers.launch(run_id),
        )
        self.views = RunViews(self.store, self.live, self.pool)
        core = ServerCore(
            settings,
            self.store,
            self.files,
            self.hub,
            self.pool,
            self.live,
            self.conditions,
            self.views,
        )
        self.requests = ControlRequests(core)
        self.bridge = EventBridge(core, self.requests)
        self.workers = Workers(core, self.bridge, self.executor)
        self.lifecycle = Lifecycle(core, self.bridge, self.workers)
        self.admission = Admission(core, self.bridge)
        self.controls = Controls(core, self.requests, self.bridge, self.admission, self.saved)
        self.inspection = Inspection(core, self.requests, self.saved)
        self.exports = Exports(core)
        self.comparisons = Comparisons(core)
        self.sweeps = Sweeps(core, SweepStore(self.store.db), self.admission, self.controls)
        self.uploads = Uploads(settings)
        self.checks = ModelChecks(settings)

    # -- conditions (GET /api/health) ----------------------------------------------------
    @property
    def version(self) -> str:
        return __version__

    @property
    def db(self) -> Database:
        return self.store.db

    @property
    def device(self) -> str:
        return self.conditions.device

    @property
    def read_only(self) -> str | None:
        return self.conditions.read_only

    @property
    def disk_full(self) -> str | None:
        return self.conditions.disk_full

    def counts(self) -> tuple[int, int]:
        """(active runs, queued runs); a run handed to an executor that has not placed it
        yet (Ray) counts as queued."""
        unplaced = 0
        for run_id in self.pool.active:
            handle = self.live.worker(run_id)
            unplaced += handle is not None and not handle.started
        return len(self.pool.active) - unplaced, len(self.pool.positions()) + unplaced

    def max_active_runs(self) -> int:
        return self.executor.capacity(self.settings.max_active_runs)

    # -- lifecycle -----------------------------------------------------------------------
    async def start(self) -> None:
        await self.lifecycle.start()

    async def shutdown(self) -> None:
        self.checks.close()
        await self.lifecycle.shutdown()

    # -- runs ----------------------------------------------------------------------------
    def create(self, config: RunConfig, client: str = "") -> RunRow:
        return self.admission.create(config, client)

    # -- the user's files (POST /api/files, POST /api/check) ------------------------------
    def upload(self, name: str, source: BinaryIO) -> Upload:
        """Store an upload by content (TooLarge 413 / InvalidInput 422 when refused)."""
        self.admission.require_writable()
        self.admission.check_disk()
        try:
            return self.uploads.store(name, source)
        except UploadRefused as err:
            if err.status == 413:
                raise TooLarge(str(err)) from None
            raise InvalidInput(str(err), errors=[f"file: {err}"], fields=["file"]) from None

    def list_uploads(self) -> list[Upload]:
        return self.uploads.listing()

    async def check_model(self, config: CheckConfig) -> dict[str, Any]:
        """Load the run's model and measure it on a sample (422 naming what is wrong)."""
        config = self.admission.check_paths(config)
        try:
            return await self.checks.check(config)
        except CheckFailed as err:
            line = f"model.file: {err}"
            raise InvalidInput(line, errors=[line], fields=["model.file"]) from None

    def list_runs(self, limit: int, offset: int, status: str | None) -> list[RunRow]:
        """Runs, newest first (optionally those in `status`)."""
        return self.store.list(limit, offset, status)

    def get(self, run_id: str) -> RunRow | None:
        """The run as clients see it, or None."""
        return self.views.get(run_id)

    def require(self, run_id: str) -> RunRow:
        """The run as clients see it, or RunNotFound (404)."""
        return self.views.require(run_id)

    def patched(self, row: RunRow) -> RunRow:
        return self.views.patched(row)

    def view(self, row: RunRow) -> RunOut:
        return self.views.view(row)

    def plan(self, row: RunRow, schedule: list[dict[str, Any]] | None = None) -> dict[str, Any]:
        """The run's schedule as planned, as edited and as run, and its step total."""
        return self.views.plan(row, schedule)

    def require_writable(self) -> None:
        self.admission.require_writable()

    def worker(self, run_id: str) -> RunHandle | None:
        return self.live.worker(run_id)

    # -- what users do to runs -----------------------------------------------------------
    async def control(self, run_id: str, op: str) -> ControlOut:
        return await self.controls.control(run_id, op)

    async def edit_schedule(self, run_id: str, schedule: list[PhaseConfig]) -> ScheduleEdit:
        return await self.controls.edit_schedule(run_id, schedule)

    async def set_monitor_budget(self, run_id: str, budget: float) -> MonitorStatus:
        return await self.controls.set_monitor_budget(run_id, budget)

    async def delete(self, run_id: str) -> None:
        await self.controls.delete(run_id)

    async def inspect(self, run_id: str, index: int, step: int | None) -> tuple[SampleReport, str]:
        return await self.inspection.inspect(run_id, index, step)

    async def path(self, run_id: str) -> tuple[PathEvaluated, str]:
        return await self.inspection.path(run_id)

    def export(self, run_id: str) -> Path:
        return self.exports.export(run_id)

    def forget_set(self, run_id: str) -> str | None:
        return self.exports.forget_set(run_id)

    # -- a run's recorded history, read-only (one database read each: off the event loop)
    def events_after(
        self, run_id: str, after: int, limit: int, types: Sequence[str] | None, with_bytes: bool
    ) -> list[StoredEvent]:
        """Events with seq > after, in order (headers only unless `with_bytes`)."""
        return self.store.events_after(run_id, after, limit, types, with_bytes)

    def event(self, run_id: str, seq: int) -> StoredEvent | None:
        """Event `seq` with its bytes, or None."""
        found = self.store.events_after(run_id, seq - 1, 1)
        return found[0] if found and found[0].seq == seq else None

    def load_events(self, run_id: str, types: Sequence[str] | None = None) -> list[EventBase]:
        return self.store.load_events(run_id, types)

    def frame_steps(self, run_id: str) -> list[int]:
        return self.store.frame_steps(run_id)

    def frame_at(self, run_id: str, step: int) -> StoredFrame | None:
        """The newest heatmap frame at or before `step`."""
        return self.store.frame_at(run_id, step)

    def probes(self, run_id: str) -> ProbesEvent | None:
        return self.store.probes(run_id)

    def run_started(self, run_id: str) -> RunStarted | None:
        return self.store.run_started(run_id)

    def facts(self, run_id: str) -> RunFacts:
        """What the HTML report and the clip show."""
        return facts_from_store(self.store, run_id)

    # -- comparison and leaderboard ------------------------------------------------------
    def compare(self, ids: list[str]) -> dict[str, Any]:
        return self.comparisons.compare(ids)

    def model_keys(self) -> list[dict[str, Any]]:
        return self.comparisons.model_keys()

    def leaderboard(self, model_key: str) -> dict[str, Any]:
        return self.comparisons.leaderboard(model_key)

    # -- sweeps --------------------------------------------------------------------------
    def create_sweep(self, spec: SweepSpec, client: str = "") -> dict[str, Any]:
        return self.sweeps.create(spec, client)

    def list_sweeps(self, limit: int, offset: int) -> list[dict[str, Any]]:
        return self.sweeps.list(limit, offset)

    def sweep(self, sweep_id: str) -> dict[str, Any]:
        return self.sweeps.require(sweep_id)

    async def stop_sweep(self, sweep_id: str) -> dict[str, Any]:
        return await self.sweeps.stop(sweep_id)

    # -- live streams --------------------------------------------------------------------
    @property
    def ws_send_timeout(self) -> float:
        """Seconds a WebSocket send may take before the client counts as gone."""
        return self.settings.ws_send_timeout

    def subscribe(self, run_id: str) -> ClientQueue:
        return self.hub.subscribe(run_id)

    def unsubscribe(self, run_id: str, client: ClientQueue) -> None:
        self.hub.unsubscribe(run_id, client)

    def subscribe_runs(self) -> ClientQueue:
        return self.hub.subscribe_runs()

    def unsubscribe_runs(self, client: ClientQueue) -> None:
        self.hub.unsubscribe_runs(client)
