"""`badnets`: BadNets (Gu et al., 2017), a small patch whose pixels are replaced exactly;
settings.py, trigger.py."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..attack import AttackKind, poisoned_share


def describe(s: Mapping[str, Any], poison_rate: float) -> str:
    size = s.get("trigger_size")
    where = str(s.get("position", "")).replace("_", "-")
    return (
        f"a {size}x{size}-pixel {s.get('pattern', '')} patch (the trigger) is stamped in the "
        f"{where} corner of {poisoned_share(poison_rate)}"
    )


ATTACK = AttackKind(
    label="BadNets backdoor",
    trigger="unlearnscope.ml.attacks.badnets.trigger:build",
    settings="unlearnscope.ml.attacks.badnets.settings:BadNetsSettings",
    describe=describe,
    flat={
        n: n for n in ("trigger_size", "position", "x", "y", "pattern", "margin", "pattern_seed")
    },
    key_constants={"alpha": 0.1},  # Blended's blend weight, in every BadNets key since v0.1
    order=10,
)
