"""Live edits of a phase schedule: what may change while a run is going.

The run is inside phase `index`, with `done` of its steps taken. An edit sends the whole
new schedule. It is accepted when
  - every phase before `index` is unchanged (the past is the past),
  - the current phase keeps its kind once it has started, and its new `steps` is at least
    `done` (equal to `done` ends the phase at the next boundary),
  - everything after the current phase is free: change, append, remove, reorder.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pydantic import TypeAdapter, ValidationError

from ..config import PhaseConfig, Schedule

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
