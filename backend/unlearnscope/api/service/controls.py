"""What a user does to a run: pause, resume, stop, edit its schedule, delete it.

Each operation checks the run's state, sends a typed control message and waits for the
engine's answer (`requests.ControlRequests`), then says what happened.

Threads: the coroutines run on the event loop; database reads go to worker threads.
Shared state: `LiveRuns` (its own lock), and the requests' waiters (loop only).
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from ...config import PhaseConfig
from ...control import Control, EditSchedule, Pause, Resume, SetMonitorBudget, Stop
from ...events import ErrorEvent, MonitorStatus, ScheduleEdit, StatusEvent
from ...states import ACTIVE_STATUSES, STEPPING_STATUSES, RunStatus
from ..errors import EditRefused, EngineTimeout, RunNotFound, WrongState
from ..hub import CLOSE_DELETED
from ..schemas import ControlOut
from ..wire import TERMINAL
from .admission import Admission
from .bridge import EventBridge
from .core import ServerCore
from .requests import ControlRequests
from .saved_runs import SavedRunCache

log = logging.getLogger(__name__)

# op -> (the message, the states it applies in, the state it leads to, why not otherwise)
OPS: dict[str, tuple[Control, tuple[RunStatus, ...], RunStatus, str]] = {
    "pause": (
        Pause(),
        (RunStatus.PREPARING, RunStatus.RUNNING),
        RunStatus.PAUSED,
        "only a preparing or running run can be paused",
    ),
    "resume": (
        Resume(),
        (RunStatus.PAUSED,),
        RunStatus.RUNNING,
        "only a paused run can be resumed",
    ),
    "stop": (
        Stop(),
        (RunStatus.QUEUED, *ACTIVE_STATUSES),
        RunStatus.STOPPED,
        "only a queued or active run can be stopped",
    ),
}


class Controls:
    def __init__(
        self,
        core: ServerCore,
        requests: ControlRequests,
        bridge: EventBridge,
        admission: Admission,
        saved: SavedRunCache,
    ) -> None:
        self.store = core.store
        self.files = core.files
        self.hub = core.hub
        self.pool = core.pool
        self.live = core.live
        self.views = core.views
        self.requests = requests
        self.bridge = bridge
        self.admission = admission
        self.saved = saved
        self.stop_grace = core.settings.stop_grace  # seconds a worker has to stop

    async def control(self, run_id: str, op: str) -> ControlOut:
        """Pause, resume or stop: applied (the engine confirmed) or only sent (timeout)."""
        self.admission.require_writable()
        msg, allowed, target, hint = OPS[op]
        row = await asyncio.to_thread(self.views.require, run_id)
        status = RunStatus(row.status)
        if status not in allowed:
            raise WrongState(
                f"cannot {op} run {run_id}: it is {status.value}; {hint}", status.value
            )
        if op == "stop" and status is RunStatus.QUEUED and self.pool.cancel(run_id):
            stopped = await asyncio.to_thread(
                self.store.set_status, run_id, RunStatus.STOPPED, "stopped before it started"
            )
            self.bridge.publish_run(stopped)
            self.bridge.publish_queue()
            return ControlOut(op=op, applied=True, status="stopped", step=0)
        event = await self.requests.ask(run_id, msg, until={target.value, *TERMINAL})
        if event is None:
            return ControlOut(
                op=op,
                applied=False,
                status=row.status,
                step=row.step,
                message="sent; the engine applies it at its next step boundary "
                "(after preparation, when preparing)",
            )
        if isinstance(event, ErrorEvent):  # the engine refused it
            now = await asyncio.to_thread(self.views.require, run_id)
            raise WrongState(event.message, now.status)
        assert isinstance(event, StatusEvent)
        if event.status != target.value:
            raise WrongState(
                f"run {run_id} {event.status} before the {op} took effect", event.status
            )
        return ControlOut(
            op=op, applied=True, status=event.status, step=event.step, message=event.message
        )

    async def _ask_stepping(
        self, run_id: str, refusal: tuple[str, str], noun: str, msg: Any, answer: type
    ) -> Any:
        """Send `msg` to a running or paused run's engine and return its `answer` event;
        WrongState when the run is not stepping or ends first, EngineTimeout without one."""
        self.admission.require_writable()
        row = await asyncio.to_thread(self.views.require, run_id)
        if RunStatus(row.status) not in STEPPING_STATUSES:
            raise WrongState(
                f"cannot {refusal[0]} of run {run_id}: it is {row.status}; {refusal[1]}",
                row.status,
            )
        event = await self.requests.ask(run_id, msg, (answer,), until=TERMINAL)
        if event is None:
            raise EngineTimeout(
                f"the engine did not answer within {self.requests.timeout:g} s; the "
                f"{noun} may still apply at its next step: check GET /api/runs/{run_id}"
            )
        now = await asyncio.to_thread(self.views.require, run_id)
        if isinstance(event, StatusEvent):
            raise WrongState(f"run {run_id} {event.status} before the {noun} arrived", now.status)
        if isinstance(event, ErrorEvent):
            raise WrongState(event.message, now.status)
        assert isinstance(event, answer)
        return event

    async def edit_schedule(self, run_id: str, schedule: list[PhaseConfig]) -> ScheduleEdit:
        msg = EditSchedule(schedule=[p.model_dump(mode="json") for p in schedule])
        refusal = ("edit the schedule", "only a running or paused run can be edited")
        event: ScheduleEdit = await self._ask_stepping(run_id, refusal, "edit", msg, ScheduleEdit)
        if not event.accepted:
            now = await asyncio.to_thread(self.views.require, run_id)
            raise EditRefused(event.reason, now.status, event.step, now.schedule)
        return event

    async def set_monitor_budget(self, run_id: str, budget: float) -> MonitorStatus:
        """The live monitor's new budget (percent); its status once the engine applied it."""
        refusal = (
            "change the monitoring budget",
            "only a running or paused run has a live monitor",
        )
        msg = SetMonitorBudget(budget=budget)
        status: MonitorStatus = await self._ask_stepping(
            run_id, refusal, "budget", msg, MonitorStatus
        )
        return status

    async def delete(self, run_id: str) -> None:
        """Stop the run's worker (killed after the grace time), then remove everything."""
        self.admission.require_writable()
        await asyncio.to_thread(self.views.require, run_id)
        self.live.begin_delete(run_id)
        try:
            self.pool.cancel(run_id)
            handle = self.live.worker(run_id)
            if handle is not None:
                handle.send(Stop())
                if not await asyncio.to_thread(handle.wait, self.stop_grace):
                    handle.kill()
                    await asyncio.to_thread(handle.wait, 10.0)
            await asyncio.to_thread(self._delete_everything, run_id)
        finally:
            self.live.end_delete(run_id)
        self.hub.close_run(run_id, CLOSE_DELETED, "the run was deleted")
        self.requests.fail_all(run_id, RunNotFound(run_id))
        self.hub.publish_runs({"type": "run_deleted", "id": run_id})
        self.bridge.publish_queue()

    def _delete_everything(self, run_id: str) -> None:
        self.live.forget(run_id)
        self.store.delete(run_id)
        self.files.remove(run_id)
        self.saved.forget(run_id)
