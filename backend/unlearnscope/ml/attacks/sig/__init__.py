"""`sig`: SIG (Barni, Kallas & Tondi, ICIP 2019), a horizontal sine signal, clean label;
settings.py, trigger.py."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..attack import AttackKind, poisoned_share


def describe(s: Mapping[str, Any], poison_rate: float) -> str:
    return (
        f"a faint horizontal sine signal (amplitude {s.get('delta')}/255) is added to "
        f"{poisoned_share(poison_rate)}, all of the target class, whose labels stay"
    )


ATTACK = AttackKind(
    label="SIG backdoor (clean label)",
    trigger="unlearnscope.ml.attacks.sig.trigger:build",
    settings="unlearnscope.ml.attacks.sig.settings:SigSettings",
    describe=describe,
    flat={"sig_delta": "delta", "sig_frequency": "frequency"},
    clean_label=True,
    order=40,
)
