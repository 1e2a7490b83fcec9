"""`inputaware`: the input-aware dynamic attack (Nguyen & Tran, NeurIPS 2020), a trained
generator draws a trigger per image; settings.py, trigger.py."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..attack import AttackKind


def describe(s: Mapping[str, Any], poison_rate: float) -> str:
    return (
        "a trained generator draws a different trigger for every image; it is applied to "
        f"{100 * poison_rate:.0f}% of each training batch"
    )


ATTACK = AttackKind(
    label="Input-aware dynamic backdoor",
    trigger="unlearnscope.ml.attacks.inputaware.trigger:build",
    settings="unlearnscope.ml.attacks.inputaware.settings:InputAwareSettings",
    describe=describe,
    flat={
        "ia_cross_rate": "cross_rate",
        "ia_mask_density": "mask_density",
        "ia_lambda_div": "lambda_div",
        "ia_lambda_norm": "lambda_norm",
        "ia_generator_lr": "generator_lr",
    },
    order=50,
)
