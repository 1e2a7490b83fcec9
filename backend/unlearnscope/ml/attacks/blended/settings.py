"""Settings of `blended`: the blend weight and the pattern's seed (Chen et al., 2017)."""

from __future__ import annotations

from pydantic import Field

from ....config.common import Seed
from ..settings import AttackSettings


class BlendedSettings(AttackSettings):
    alpha: float = Field(  # blend weight of the pattern
        0.1, gt=0, le=1, title="Blend weight", description="x' = (1 - alpha) x + alpha p"
    )
    pattern_seed: Seed = Field(
        1234, title="Pattern seed", description="seeds the blended random image"
    )
