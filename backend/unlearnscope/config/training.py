"""`training`: the attack stage's training of the backdoored model."""

from __future__ import annotations

from typing import Literal

from pydantic import (
    Field,
)

from ..strict import Strict


class TrainConfig(Strict):
    """Training of the backdoored (and the clean reference) model: the attack stage."""

    epochs: int = Field(
        6, ge=1, le=500, title="Epochs", description="training of the backdoored model"
    )
    batch_size: int = Field(128, ge=1, le=4096, title="Batch size")
    # peak learning rate of the one-cycle schedule
    lr: float = Field(0.05, gt=0, le=10, title="Peak learning rate")
    weight_decay: float = Field(5e-4, ge=0, le=1, title="Weight decay")
    momentum: float = Field(0.9, ge=0, lt=1, title="Momentum")
    label_smoothing: float = Field(0.0, ge=0, lt=1, title="Label smoothing")
    # Mixed precision of the forward/backward pass (weights stay fp32): "bf16" autocast,
    # or "auto" = bf16 where the device computes it natively (CPUs with AVX512-BF16/AMX,
    # CUDA GPUs with bf16), else fp32. About 2x faster on such CPUs.
    precision: Literal["fp32", "bf16", "auto"] = Field("fp32", title="Precision")
