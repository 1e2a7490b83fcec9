"""Settings of `qra`, the Query-based Reactivation Attack of Min, Qin, Zhang, Shen, Cheng
(NeurIPS 2024, "Uncovering, Explaining, and Mitigating the Superficial Safety of Backdoor
Defense").

Defaults from the authors' fine_tune/qra.py: 500 clean and 500 poisoned queries,
alpha_qra 0.2, a perturbation budget of 16/255; the re-tuned copy it imitates as their
retuning attack makes it (fine_tune/ft_poison.py: 5 poisoned samples in the clean split,
5 epochs, lr 0.01).
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from ....strict import IMAGES
from ..settings import KindSettings


class QraSettings(KindSettings):
    clean_queries: int = Field(
        500, ge=1, le=100_000, title="Clean queries", json_schema_extra=IMAGES,
        description="clean images the perturbation is optimised on",
    )  # fmt: skip
    poisoned_queries: int = Field(
        500, ge=1, le=100_000, title="Poisoned queries", json_schema_extra=IMAGES,
        description="triggered images the perturbation is optimised on",
    )  # fmt: skip
    alpha: float = Field(
        0.2,
        ge=0,
        le=100,
        title="α (reactivation weight)",
        description="weight of imitating the re-tuned model against keeping clean images right",
    )
    epsilon: float = Field(
        16 / 255,
        gt=0,
        le=1,
        title="ε (budget)",
        description="largest change of any pixel, on the [0, 1] scale (16/255)",
    )
    generator: Literal["universal", "per_image"] = Field(
        "universal",
        title="Perturbation",
        description="universal: one pattern for every image (shown as it is); per_image: "
        "the authors' auto-encoder makes one per image",
    )
    step_size: float = Field(
        1 / 255,
        gt=0,
        le=1,
        title="Step size",
        description="universal: of each signed-gradient step",
    )
    retune_poisoned: int = Field(
        5,
        ge=1,
        le=100_000,
        title="Re-tuning poisoned",
        description="poisoned samples in the clean split the imitated copy is re-tuned on",
        json_schema_extra=IMAGES,
    )
    retune_steps: int = Field(
        40,
        ge=1,
        le=100_000,
        title="Re-tuning steps",
        description="steps of re-tuning the imitated copy (5 epochs of 1,000 images)",
    )
