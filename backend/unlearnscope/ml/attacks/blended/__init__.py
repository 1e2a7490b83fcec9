"""`blended`: Blended (Chen et al., 2017), a fixed random image blended over the input;
settings.py, trigger.py."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..attack import AttackKind, poisoned_share


def describe(s: Mapping[str, Any], poison_rate: float) -> str:
    return (
        f"a faint fixed pattern (blend weight {s.get('alpha')}) is mixed into "
        f"{poisoned_share(poison_rate)}"
    )


ATTACK = AttackKind(
    label="Blended backdoor",
    trigger="unlearnscope.ml.attacks.blended.trigger:build",
    settings="unlearnscope.ml.attacks.blended.settings:BlendedSettings",
    describe=describe,
    flat={"alpha": "alpha", "pattern_seed": "pattern_seed"},
    # BadNets' patch fields, in every Blended key since v0.1
    key_constants={
        "trigger_size": 3,
        "position": "bottom_right",
        "x": None,
        "y": None,
        "pattern": "checkerboard",
        "margin": 1,
    },
    order=20,
)
