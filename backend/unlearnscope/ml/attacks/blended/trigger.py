"""Blended (Chen et al., 2017): a fixed random image blended over the whole input."""

from __future__ import annotations

import torch

from ..base import Trigger, as_dtype, check_images, random_pattern
from .settings import BlendedSettings


class Blended(Trigger):
    """A fixed random image blended over the whole input: x' = (1 - alpha) x + alpha p
    (Chen et al., 2017). Global: its trigger region is computed per image (ml/region.py)."""

    mask = None
    box = None

    def __init__(self, image_size: int, alpha: float = 0.1, pattern_seed: int = 1234) -> None:
        if not 0 < alpha <= 1:
            raise ValueError(f"blend alpha must be in (0, 1], got {alpha}")
        self.image_size = image_size
        self.alpha = alpha
        self.pattern = random_pattern((3, image_size, image_size), pattern_seed)  # uint8

    def apply(self, images: torch.Tensor) -> torch.Tensor:
        check_images(images, self.image_size)
        if images.is_floating_point():
            return (1 - self.alpha) * images + self.alpha * as_dtype(self.pattern, images)
        x = images.float() / 255
        blended = (1 - self.alpha) * x + self.alpha * as_dtype(self.pattern, x)
        return (blended * 255).round_().clamp_(0, 255).to(torch.uint8)

    def __repr__(self) -> str:
        return f"Blended(alpha={self.alpha}, image_size={self.image_size})"


def build(s: BlendedSettings, image_size: int, seed: int) -> Blended:
    """The registry's builder (`seed`, the run's, is not used: the pattern has its own)."""
    return Blended(image_size, alpha=s.alpha, pattern_seed=s.pattern_seed)
