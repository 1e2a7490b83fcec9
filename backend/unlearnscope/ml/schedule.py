"""Live edits of a phase schedule: what may change while a run is going.

The run is inside phase `index`, with `done` of its steps taken. An edit sends the whole
new schedule. It is accepted when
  - every phase before `index` is unchanged (the past is the past),
  - the current phase keeps its kind once it has started, and its new `steps` is at least
    `done` (equal to `done` ends the phase at the next boundary),
  - everything after the current phase is free: change, append, remove, reorder.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from pydantic import TypeAdapter, ValidationError

from ..config import PhaseConfig, Schedule, schedule_steps

_SCHEDULE = TypeAdapter(Schedule)


class ScheduleEditError(ValueError):
    """An edit that cannot be applied; the message says why and what would be allowed."""


def parse_schedule(raw: Sequence[PhaseConfig | dict[str, Any]]) -> list[PhaseConfig]:
    try:
        return _SCHEDULE.validate_python(
            [p.model_dump() if isinstance(p, PhaseConfig) else p for p in raw]
        )
    except ValidationError as err:
        first = err.errors()[0]
        where = ".".join(str(x) for x in first["loc"])
        raise ScheduleEditError(f"schedule.{where}: {first['msg']}") from err


def apply_edit(
    current: list[PhaseConfig],
    new: Sequence[PhaseConfig | dict[str, Any]],
    index: int,
    done: int,
) -> list[PhaseConfig]:
    """Return the validated new schedule, or raise ScheduleEditError with the reason."""
    proposed = parse_schedule(new)
    if index >= len(current):
        raise ScheduleEditError("the schedule has finished; there is no future left to edit")
    if len(proposed) <= index:
        raise ScheduleEditError(
            f"the run is in phase {index + 1}; the new schedule must keep phases 1-{index + 1}"
        )
    for i in range(index):
        if proposed[i] != current[i]:
            raise ScheduleEditError(
                f"phase {i + 1} ({current[i].kind}) is already over and cannot be changed; "
                f"edit phase {index + 1} or later"
            )
    if done > 0:
        now, then = current[index], proposed[index]
        if then.kind != now.kind:
            raise ScheduleEditError(
                f"phase {index + 1} is running as {now.kind!r}; its kind cannot change "
                f"(end it by setting steps={done}, then add a new phase)"
            )
        if then.steps < done:
            raise ScheduleEditError(
                f"phase {index + 1} has already run {done} steps; steps must be >= {done}"
            )
    return proposed


def run_plan(
    planned: Sequence[Mapping[str, Any]],
    in_force: Sequence[Mapping[str, Any]],
    ends: Sequence[Mapping[str, Any]],
    step: int,
) -> dict[str, Any]:
    """A run's schedule as planned (its config), as edited (the schedule in force) and as
    run (what each phase that ended took): the one definition of a run's step totals that
    every view reads (the run page, the run list, compare, the leaderboard, sweeps, the
    report and a schedule edit's answer).

    `ends` are the run's phase_end events (phase_index, steps, reason). The run's `total`
    is the step it ends at as things stand: a phase that ended counts the steps it took
    (an early stop, a stop by hand, an edit that ended it), the others their steps in
    force; never less than `step`, the steps taken. Returns
        {"total", "taken", "planned_total", "in_force_total", "edited",
         "phases": [{"index", "kind", "steps", "planned_steps", "taken", "reason"}]}
    where a phase's `planned_steps` is its config's steps (None for a phase an edit added
    or changed to another kind) and `taken`/`reason` are None until it ended."""
    done = {int(e["phase_index"]): e for e in ends}
    phases = []
    total = 0
    for i, p in enumerate(in_force):
        was = planned[i] if i < len(planned) else None
        end = done.get(i)
        taken = None if end is None else int(end.get("steps", 0))
        phases.append(
            {
                "index": i,
                "kind": p["kind"],
                "steps": int(p["steps"]),
                "planned_steps": int(was["steps"])
                if was is not None and was["kind"] == p["kind"]
                else None,
                "taken": taken,
                "reason": None if end is None else end.get("reason"),
            }
        )
        total += int(p["steps"]) if taken is None else taken
    return {
        "total": max(total, step),
        "taken": step,
        "planned_total": schedule_steps(planned),
        "in_force_total": schedule_steps(in_force),
        "edited": _canon(in_force) != _canon(planned),
        "phases": phases,
    }


def _canon(schedule: Sequence[Mapping[str, Any]]) -> str:
    return json.dumps(list(schedule), sort_keys=True, default=str)
