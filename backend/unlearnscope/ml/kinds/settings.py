"""Per-kind settings of a phase: one pydantic model per phase kind, in its folder.

A phase kind that has its own hyper-parameters (NAD's beta, SAM's rho, ...) keeps them in
`ml/kinds/<name>/settings.py` and names the class in its `KIND.settings` ("module:Class"). The class
subclasses `KindSettings` here: strict, unknown fields refused, every field with a title,
a description and bounds (the page builds its fields from the JSON schema, docs/settings.md
table lists them), defaults = the published CIFAR-10 defaults of the paper (cited in the
class docstring). `PhaseConfig.settings` is validated by it (errors located at
`schedule.N.settings.<field>`) and stored normalised (defaults filled in).

Torch-free: the config, the API and the page read these without importing torch. The
registry is imported inside the functions that need it: a plug-in's module may define its
settings model (importing this module) while the registry is still loading it.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from ...strict import Strict
from .. import plugins


class KindSettings(Strict):
    """Base of every kind's settings model (strict, no unknown fields, finite floats)."""

    def budget_problem(self, steps: int, n_classes: int) -> str | None:
        """Why `steps` cannot cover what this kind does on data of `n_classes` classes
        (a per-class budget), or None. Checked before a run starts."""
        return None


def budget_problems(schedule: Any, n_classes: int) -> list[tuple[int, str]]:
    """(phase index, why) of each phase of `schedule` (PhaseConfigs) whose per-class
    budget cannot cover data of `n_classes` classes."""
    found = []
    for i, phase in enumerate(schedule):
        settings = load_settings(phase.kind, phase.settings)
        problem = settings.budget_problem(phase.steps, n_classes) if settings else None
        if problem:
            found.append((i, f"{problem} (the data has {n_classes} classes)"))
    return found


def settings_class(path: str) -> type[KindSettings]:
    """The class named by "module:Class" (imported once)."""
    return plugins.load_class(path, KindSettings)


def kind_settings_class(kind: str) -> type[KindSettings] | None:
    """The settings class of a registered phase kind, or None when it has none."""
    from .registry import PHASE_KINDS

    path = PHASE_KINDS[kind].settings
    return None if path is None else settings_class(path)


def load_settings(kind: str, raw: dict[str, Any]) -> KindSettings | None:
    """The validated settings object of a phase (None for a kind without settings)."""
    cls = kind_settings_class(kind)
    return None if cls is None else cls.model_validate(raw)


def settings_schema(kind: str) -> dict[str, Any] | None:
    """JSON schema of a kind's settings (the page builds the kind's fields from it)."""
    cls = kind_settings_class(kind)
    return None if cls is None else cls.model_json_schema()


def phase_kind_options() -> list[dict[str, Any]]:
    """The phase-kind registry as the page reads it (GET /api/options), with each kind's
    settings JSON schema (`settings_schema`, None for a kind without settings)."""
    from .registry import PHASE_KINDS

    shown = (
        "label",
        "description",
        "step",
        "uses_forget_set",
        "finds_forget_set",
        "attack",
        "settings",
        "defaults",
    )
    return [
        {"kind": name, **{k: v for k, v in asdict(kind).items() if k in shown}}
        | {"settings_schema": settings_schema(name)}
        for name, kind in PHASE_KINDS.items()
    ]
