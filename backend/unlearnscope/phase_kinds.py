"""Phase kinds: the one registry. Adding a kind is adding one entry here.

Each entry names the class that takes one step of the kind (`step`, as "module:Class",
imported only when a run uses it, so this module and the config that reads it stay free of
torch), what a person sees (label, description) and what data it needs. The RunConfig
schema, `GET /api/options`, the page's schedule editor and chart bands all read this
dict; `ml.phases.phase_step` resolves `step`.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True)
class PhaseKind:
    label: str  # a few words for people
    description: str  # what one step does
    step: str  # "module:Class" of the step implementation (see ml/phases.py)
    uses_forget_set: bool  # needs the defender's identified poisoned samples
    # "module:Class" of the kind's own settings (a kind_settings.KindSettings subclass), or
    # None: a kind without settings refuses a non-empty PhaseConfig.settings.
    settings: str | None = None
    # Published defaults of the common PhaseConfig fields (steps, lr, batch_size, momentum,
    # ...) that the page's schedule editor fills in when the kind is chosen.
    defaults: dict[str, Any] = field(default_factory=dict)


PHASE_KINDS: dict[str, PhaseKind] = {
    "ascent": PhaseKind(
        label="Gradient ascent",
        description="Push the loss on the forget set up (bounded by loss_clamp), with the "
        "EWC penalty holding the weights that matter for clean data.",
        step="unlearnscope.ml.phases:Ascent",
        uses_forget_set=True,
    ),
    "recovery": PhaseKind(
        label="Recovery fine-tuning",
        description="Fine-tune on the clean set; optionally keep the target unlikely on the "
        "forget set (forget_weight) and distil from the starting model (distill_weight).",
        step="unlearnscope.ml.phases:Recovery",
        uses_forget_set=False,
    ),
}


def phase_kind_options() -> list[dict[str, Any]]:
    """The registry as the page reads it (GET /api/options), with each kind's settings
    JSON schema (`settings_schema`, None for a kind without settings)."""
    from .kind_settings import settings_schema

    return [
        {"kind": name, **asdict(kind), "settings_schema": settings_schema(name)}
        for name, kind in PHASE_KINDS.items()
    ]
