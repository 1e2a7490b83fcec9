"""Runs as clients see them: the stored row, corrected by what only the server knows
(an override the database could not take, the queue place, the current phase).

No state of its own; reads the store, `LiveRuns` (locked) and the pool (locked), so it
is safe from any thread.
"""

from __future__ import annotations

from typing import Any

from ...ml.schedule import run_plan
from ...scores import headline
from ...states import TERMINAL_STATUSES, RunStatus
from ...storage.runs import RunStore
from ...storage.tables import RunRow
from ...verdict import criteria_of
from ...worker.pool import RunPool
from ..errors import RunNotFound
from ..schemas import RunOut
from .live import LiveRuns


class RunViews:
    def __init__(self, store: RunStore, live: LiveRuns, pool: RunPool) -> None:
        self.store = store
        self.live = live
        self.pool = pool
        # run id -> (last_seq, verdict) of finished runs: their numbers no longer change
        self._verdicts: dict[str, tuple[int, dict[str, Any]]] = {}
        # run id -> (last_seq, its run_started and phase_end events), read again when the
        # run moved on
        self._ends: dict[str, tuple[int, list[dict[str, Any]]]] = {}

    def patched(self, row: RunRow) -> RunRow:
        """The row as clients should see it (a state the database could not take)."""
        override = self.live.override(row.id)
        if override is not None and RunStatus(row.status) not in TERMINAL_STATUSES:
            status, message = override
            row.status, row.message = status.value, message
            if status is RunStatus.FAILED:
                row.error = message
        return row

    def get(self, run_id: str) -> RunRow | None:
        row = self.store.get(run_id)
        return self.patched(row) if row is not None else None

    def require(self, run_id: str) -> RunRow:
        row = self.get(run_id)
        if row is None:
            raise RunNotFound(run_id)
        return row

    def verdict(self, row: RunRow) -> dict[str, Any] | None:
        """A finished run's verdict (scores.headline's, from its run_started and
        run_finished events: the same numbers the compare view and the leaderboard judge);
        None before the run finished."""
        if row.summary is None:
            return None
        cached = self._verdicts.get(row.id)
        if cached is not None and cached[0] == row.last_seq:
            return cached[1]
        events = self.store.headers(row.id, ("run_started", "run_finished"))
        verdict: dict[str, Any] = headline(events, None, criteria_of(row.config))["verdict"]
        self._verdicts[row.id] = (row.last_seq, verdict)
        return verdict

    def plan(self, row: RunRow, schedule: list[dict[str, Any]] | None = None) -> dict[str, Any]:
        """The run's schedule as planned, as edited and as run, and its step total
        (ml.schedule.run_plan, from its run_started and phase_end events); `schedule` in
        place of the row's schedule in force (an edit's answer, before the row has it)."""
        cached = self._ends.get(row.id)
        if cached is None or cached[0] != row.last_seq:
            cached = (row.last_seq, self.store.headers(row.id, ("run_started", "phase_end")))
            self._ends[row.id] = cached
        started = [e for e in cached[1] if e.get("type") == "run_started"]
        ends = [e for e in cached[1] if e.get("type") == "phase_end"]
        # as planned: the schedule the run started with (its config's, as the engine took it)
        config_schedule = (row.config or {}).get("schedule") or []
        planned = list(
            started[0].get("schedule") or config_schedule if started else config_schedule
        )
        in_force = row.schedule if schedule is None else schedule
        return run_plan(planned, in_force, ends, row.step)

    def view(self, row: RunRow) -> RunOut:
        row = self.patched(row)
        plan = self.plan(row)
        phase_index, phase_kind = self.live.phase(row.id)
        return RunOut(
            id=row.id,
            name=row.name,
            status=row.status,
            message=row.message or "",
            error=row.error,
            step=row.step,
            total_steps=plan["total"],
            queue_position=self.pool.position(row.id),
            created_at=row.created_at,
            started_at=row.started_at,
            finished_at=row.finished_at,
            last_seq=row.last_seq,
            device=row.device,
            schedule=row.schedule,
            summary=row.summary,
            exit_code=row.exit_code,
            config=row.config,
            phase_index=phase_index,
            phase_kind=phase_kind,
            verdict=self.verdict(row),
            plan=plan,
        )
