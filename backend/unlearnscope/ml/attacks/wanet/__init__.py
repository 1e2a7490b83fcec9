"""`wanet`: WaNet (Nguyen & Tran, ICLR 2021), a smooth warp of the whole image;
settings.py, trigger.py."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..attack import AttackKind, poisoned_share


def describe(s: Mapping[str, Any], poison_rate: float) -> str:
    return (
        f"a slight fixed warp of the whole image (strength {s.get('strength')}) is applied to "
        f"{poisoned_share(poison_rate)}"
    )


ATTACK = AttackKind(
    label="WaNet backdoor",
    trigger="unlearnscope.ml.attacks.wanet.trigger:build",
    settings="unlearnscope.ml.attacks.wanet.settings:WaNetSettings",
    describe=describe,
    flat={
        "wanet_grid": "grid",
        "wanet_strength": "strength",
        "wanet_cross_ratio": "cross_ratio",
        "pattern_seed": "pattern_seed",
    },
    order=30,
)
