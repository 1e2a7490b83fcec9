"""Per-attack settings: one pydantic model per attack, in its folder (`settings.py`).

`AttackConfig.settings` is validated by the attack's model (errors located at
`attack.settings.<field>`) and stored normalised (defaults filled in). Torch-free.

The registry is imported inside the functions that need it: a plug-in's module defines its
settings model (importing this module) while the registry is still loading it.
"""

from __future__ import annotations

from typing import Any

from ...strict import Strict
from .. import plugins


class AttackSettings(Strict):
    """Base of every attack's settings model (strict, no unknown fields, finite floats)."""

    def check_image(self, image_size: int) -> None:
        """ValueError (naming `attack.settings.<field>`) if the settings do not fit images
        of `image_size` pixels a side."""


def attack_settings_class(kind: str) -> type[AttackSettings]:
    """The settings model of a registered attack (imported once)."""
    from .registry import ATTACKS

    return plugins.load_class(ATTACKS[kind].settings, AttackSettings)


def load_attack_settings(kind: str, raw: dict[str, Any]) -> AttackSettings:
    return attack_settings_class(kind).model_validate(raw)


def attack_options() -> list[dict[str, Any]]:
    """The attack registry as the page reads it (GET /api/options)."""
    from .registry import ATTACKS

    return [
        {
            "kind": name,
            "label": attack.label,
            "settings_schema": attack_settings_class(name).model_json_schema(),
        }
        for name, attack in ATTACKS.items()
    ]
