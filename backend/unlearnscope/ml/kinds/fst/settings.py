"""Settings of `fst`, Feature Shift Tuning (Min, Qin, Shen, Cheng; NeurIPS 2023, "Towards
Stable Backdoor Purification through Feature Shift Tuning").

Defaults from the authors' fine_tune/ft.py (`--ft_mode fst`): alpha 0.2 (its default; the
README's example uses 0.1), a cosine learning-rate schedule over the phase.
"""

from __future__ import annotations

from pydantic import Field

from ..settings import KindSettings


class FstSettings(KindSettings):
    alpha: float = Field(
        0.2,
        ge=0,
        le=100,
        title="α (alignment penalty)",
        description="weight of <W, W_original>, the head's alignment with the original head",
    )
    cosine: bool = Field(
        True,
        title="Cosine schedule",
        description="anneal the learning rate to 0 over the phase (the authors' code)",
    )
