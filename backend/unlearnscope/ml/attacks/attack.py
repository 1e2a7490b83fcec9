"""`AttackKind`: what the attack registry knows of an attack (each folder's `ATTACK`, each
plug-in's entry point). Torch-free, so the config can validate an attack's settings and
the report can describe it without torch."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any


def poisoned_share(poison_rate: float) -> str:
    return f"{100 * poison_rate:.0f}% of the training images"


def planted(settings: Mapping[str, Any], poison_rate: float) -> str:
    """The report's wording of an attack that says nothing more of itself."""
    return f"its trigger is planted in {poisoned_share(poison_rate)}"


@dataclass(frozen=True)
class AttackKind:
    label: str  # a few words for people ("BadNets patch")
    # "module:function" of the trigger builder, (settings, image_size, seed) -> Trigger
    trigger: str
    # "module:Class" of the attack's settings model (an attacks.settings.AttackSettings)
    settings: str
    # In plain words, for the report: how the trigger is planted, from the settings (a
    # dict, as stored) and the poison rate.
    describe: Callable[[Mapping[str, Any], float], str] = planted
    # Former flat `attack.*` field names, still read (old config files, stored runs), and
    # the names the model-cache key has always used: {flat name: settings field}.
    flat: dict[str, str] = field(default_factory=dict)
    # Fields the cache key of this attack has always carried at fixed values (BadNets and
    # Blended shared one flat set of fields), so that cached models keep their keys.
    key_constants: dict[str, Any] = field(default_factory=dict)
    clean_label: bool = False  # poisoned images keep their labels (SIG)
    order: int = 1000  # where it sits in lists people see (built-ins 0-99)
