"""Control messages into an engine: typed like events, one model per operation.

The server sends them down a worker's control pipe (pickled models); the engine applies
them between steps (`Engine.handle`). `parse_control` reads the same messages as plain
dicts ({"op": "pause"}, ...), for callers outside Python or older pipes.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter


class ControlBase(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    request_id: str = ""  # echoed by the event that answers it


class Pause(ControlBase):
    op: Literal["pause"] = "pause"


class Resume(ControlBase):
    op: Literal["resume"] = "resume"


class Stop(ControlBase):
    op: Literal["stop"] = "stop"


class EditSchedule(ControlBase):
    """Replace the schedule from the current phase on (done phases stay as they were)."""

    op: Literal["edit_schedule"] = "edit_schedule"
    schedule: list[dict[str, Any]]  # PhaseConfig dicts, validated by the engine


class Inspect(ControlBase):
    """Explain test image `index` with the model as it is now (answered by a SampleReport)."""

    op: Literal["inspect"] = "inspect"
    index: int


class MeasurePath(ControlBase):
    """Measure the backdoor-connected path of the model as it is now (answered by a
    PathEvaluated)."""

    op: Literal["path"] = "path"


class SetMonitorBudget(ControlBase):
    """Change the live monitor's budget (the most it may slow training, percent; answered
    by a MonitorStatus with this request_id, or an ErrorEvent)."""

    op: Literal["monitor_budget"] = "monitor_budget"
    budget: float = Field(gt=0, le=100)


Control = Annotated[
    Pause | Resume | Stop | EditSchedule | Inspect | MeasurePath | SetMonitorBudget,
    Field(discriminator="op"),
]
CONTROL_ADAPTER: TypeAdapter[Control] = TypeAdapter(Control)


def parse_control(msg: Control | dict[str, Any]) -> Control:
    """A control message as its model; raises pydantic.ValidationError when it is none."""
    if isinstance(msg, dict):
        return CONTROL_ADAPTER.validate_python(msg)
    return msg
