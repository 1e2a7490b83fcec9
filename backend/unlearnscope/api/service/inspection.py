"""Sample inspection: one test image explained by a run's model, live or saved.

A running or paused run answers from its worker between two steps (an `Inspect`
request); any other run from its saved final model, loaded in this process
(`saved_runs.SavedRunCache`).

Threads: `inspect` runs on the event loop; loading and explaining a saved model on a
worker thread. Shared state: the cache (its own lock; one CAM pass per loaded model at
a time, under that model's lock), `LiveRuns` (its own lock).
"""

from __future__ import annotations

import asyncio
import time

from ...config import RunConfig
from ...control import Inspect, MeasurePath
from ...events import ErrorEvent, PathEvaluated, SampleReport, StatusEvent, TriggerFound
from ...states import STEPPING_STATUSES, RunStatus
from ...storage.artifacts import saved_step
from ...storage.tables import RunRow
from ..errors import EngineTimeout, InvalidInput, NotAvailable, WrongState
from ..wire import TERMINAL
from .core import ServerCore
from .requests import ControlRequests
from .saved_runs import SavedRunCache


class Inspection:
    def __init__(self, core: ServerCore, requests: ControlRequests, saved: SavedRunCache) -> None:
        self.files = core.files
        self.store = core.store
        self.live = core.live
        self.views = core.views
        self.requests = requests
        self.saved = saved
        self.stop_grace = core.settings.stop_grace

    async def inspect(self, run_id: str, index: int, step: int | None) -> tuple[SampleReport, str]:
        """(report, source): from the live worker between steps, or the saved model."""
        row = await asyncio.to_thread(self.views.require, run_id)
        status = RunStatus(row.status)
        if status in (RunStatus.QUEUED, RunStatus.PREPARING):
            raise WrongState(
                f"run {run_id} is {status.value}: its model is not ready yet; inspect samples "
                "once it runs",
                status.value,
            )
        if status in STEPPING_STATUSES and self.live.worker(run_id) is not None:
            if step is not None and step < row.step:
                raise NotAvailable(
                    f"the model at step {step} is not kept; run {run_id} can be inspected at "
                    f"its current step ({row.step}): leave out ?step=",
                    step=row.step,
                )
            report = await self._inspect_live(run_id, index)
            if report is not None:
                return report, "live"
            handle = self.live.worker(run_id)  # it ended meanwhile: use what it saved
            if handle is not None:
                await asyncio.to_thread(handle.wait, self.stop_grace)
            row = await asyncio.to_thread(self.views.require, run_id)
        if step is not None and step != row.step:
            raise NotAvailable(
                f"only the final model of run {run_id} is kept (step {row.step}); ask for "
                f"step={row.step} or leave out ?step=",
                step=row.step,
            )
        report = await asyncio.to_thread(self._inspect_saved, row, index)
        return report, "saved"

    async def path(self, run_id: str) -> tuple[PathEvaluated, str]:
        """(the backdoor-connected path, source): measured now by a running or paused
        run's worker ("live"), else the last one the run measured ("stored": at its last
        phase end)."""
        row = await asyncio.to_thread(self.views.require, run_id)
        status = RunStatus(row.status)
        if status in STEPPING_STATUSES and self.live.worker(run_id) is not None:
            event = await self.requests.ask(run_id, MeasurePath(), (PathEvaluated,), TERMINAL)
            if event is None:
                raise EngineTimeout(f"the worker did not answer within {self.requests.timeout:g} s")
            if isinstance(event, ErrorEvent):
                raise InvalidInput(event.message)
            if isinstance(event, PathEvaluated):
                return event, "live"
        stored = [
            e
            for e in await asyncio.to_thread(self.store.load_events, run_id, ["path"])
            if isinstance(e, PathEvaluated)
        ]
        if not stored:
            raise NotAvailable(
                f"run {run_id} ({row.status}) measured no path: it is measured at every phase "
                "end and on request while the run is running"
            )
        return stored[-1], "stored"

    async def _inspect_live(self, run_id: str, index: int) -> SampleReport | None:
        """The worker's report; None when the run ended before it answered."""
        event = await self.requests.ask(run_id, Inspect(index=index), (SampleReport,), TERMINAL)
        if event is None:
            raise EngineTimeout(f"the worker did not answer within {self.requests.timeout:g} s")
        if isinstance(event, ErrorEvent):
            raise InvalidInput(event.message)
        if isinstance(event, StatusEvent):
            return None
        assert isinstance(event, SampleReport)
        return event

    def _inspect_saved(self, row: RunRow, index: int) -> SampleReport:
        model_path = self.files.model_path(row.id)
        if model_path.exists() and saved_step(model_path) not in (None, row.step):
            raise NotAvailable(
                f"run {row.id}'s saved model is from step {saved_step(model_path)}, not its "
                f"recorded step {row.step}; it is not used"
            )
        if not model_path.exists():
            raise NotAvailable(
                f"run {row.id} ({row.status}) has no saved model to inspect: its worker ended "
                "before saving one"
            )
        config = RunConfig.model_validate(row.config)
        found = [
            e
            for e in self.store.load_events(row.id, ["trigger_found"])
            if isinstance(e, TriggerFound)
        ]
        saved = self.saved.get(row.id, config, model_path, found[-1] if found else None)
        try:
            report = saved.inspect(index)
        except IndexError as err:
            raise InvalidInput(str(err)) from None
        return SampleReport(step=row.step, target_class=saved.target, t=time.time(), **report)
