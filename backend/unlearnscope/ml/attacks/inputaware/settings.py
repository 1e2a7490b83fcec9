"""Settings of `inputaware` (Nguyen & Tran, NeurIPS 2020): a generator trained with the
classifier gives each image its own pattern and mask."""

from __future__ import annotations

from pydantic import Field

from ..settings import AttackSettings


class InputAwareSettings(AttackSettings):
    cross_rate: float = Field(
        0.1,
        ge=0,
        lt=1,
        title="Cross-trigger rate",
        description="share of each batch given another image's trigger, label kept",
    )
    mask_density: float = Field(
        0.032,
        gt=0,
        le=1,
        title="Mask density",
        description="largest mean mask value before the norm penalty acts",
    )
    lambda_div: float = Field(
        1.0,
        ge=0,
        le=1e3,
        title="Diversity weight",
        description="weight of the trigger diversity loss",
    )
    lambda_norm: float = Field(
        100.0,
        ge=0,
        le=1e4,
        title="Mask norm weight",
        description="weight of the mask density penalty",
    )
    generator_lr: float = Field(
        0.01, gt=0, le=1, title="Generator learning rate", description="Adam, betas (0.5, 0.9)"
    )
