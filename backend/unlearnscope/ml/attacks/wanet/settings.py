"""Settings of `wanet` (Nguyen & Tran, ICLR 2021): a fixed k x k control grid of random
offsets, upsampled to a smooth warping field of strength s; noise mode adds cross images."""

from __future__ import annotations

from pydantic import Field

from ....config.common import Seed
from ..settings import AttackSettings


class WaNetSettings(AttackSettings):
    grid: int = Field(
        4,
        ge=2,
        le=64,
        title="Warp grid k",
        description="control points per side of the warping field",
    )
    strength: float = Field(
        0.5,
        gt=0,
        le=10,
        title="Warp strength s",
        description="size of the warp (paper: 0.5 on CIFAR-10)",
    )
    cross_ratio: float = Field(
        2.0,
        ge=0,
        le=10,
        title="Noise-mode cross ratio",
        description="noise-warped images per poisoned image, labels kept; 0 = off",
    )
    pattern_seed: Seed = Field(1234, title="Pattern seed", description="seeds the warp field")

    def check_image(self, image_size: int) -> None:
        if self.grid > image_size:
            raise ValueError(
                f"attack.settings.grid={self.grid} is finer than the image "
                f"(data.image_size={image_size}); use at most the image size"
            )
