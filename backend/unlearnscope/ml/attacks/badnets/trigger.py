"""BadNets (Gu et al., 2017): a small patch whose pixels are replaced exactly."""

from __future__ import annotations

import torch

from ..base import Trigger, as_dtype, check_images, random_pattern
from .settings import BadNetsSettings


class BadNets(Trigger):
    """A small patch whose pixels are replaced exactly (Gu et al., 2017)."""

    def __init__(
        self,
        image_size: int,
        size: int = 3,
        position: str = "bottom_right",
        x: int | None = None,
        y: int | None = None,
        pattern: str = "checkerboard",
        margin: int = 1,
        pattern_seed: int = 1234,
    ) -> None:
        self.image_size = image_size
        x0, y0 = _patch_origin(image_size, size, position, x, y, margin)
        self.box = (x0, y0, x0 + size, y0 + size)
        self.pattern = _patch_pattern(pattern, size, pattern_seed)  # (3, size, size) uint8
        self.mask = torch.zeros(image_size, image_size, dtype=torch.bool)  # (H, W)
        self.mask[y0 : y0 + size, x0 : x0 + size] = True

    def apply(self, images: torch.Tensor) -> torch.Tensor:
        check_images(images, self.image_size)
        assert self.box is not None  # a patch always has its box
        x0, y0, x1, y1 = self.box
        out = images.clone()
        out[..., y0:y1, x0:x1] = as_dtype(self.pattern, images)
        return out

    def __repr__(self) -> str:
        return f"BadNets(box={self.box}, image_size={self.image_size})"


def _patch_origin(
    image_size: int, size: int, position: str, x: int | None, y: int | None, margin: int
) -> tuple[int, int]:
    """Top-left pixel (x0, y0) of the patch."""
    far = image_size - margin - size  # the coordinate that leaves `margin` px to the far border
    corners = {
        "top_left": (margin, margin),
        "top_right": (far, margin),
        "bottom_left": (margin, far),
        "bottom_right": (far, far),
    }
    if position == "xy":
        if x is None or y is None:
            raise ValueError("position='xy' needs both x and y (pixels from the top-left)")
        x0, y0 = x, y
    elif position in corners:
        x0, y0 = corners[position]
    else:
        raise ValueError(f"unknown trigger position {position!r}; use a corner name or 'xy'")
    if min(x0, y0) < 0 or max(x0, y0) + size > image_size:
        raise ValueError(
            f"a {size}x{size} trigger at x={x0}, y={y0} does not fit in "
            f"{image_size}x{image_size} images (reduce trigger_size or margin, or move it)"
        )
    return x0, y0


def _patch_pattern(kind: str, size: int, seed: int) -> torch.Tensor:
    """(3, size, size) uint8 patch pattern."""
    if kind == "checkerboard":
        ij = torch.arange(size)
        white = (ij[:, None] + ij[None, :]) % 2 == 0  # the top-left pixel is white
        return (white.to(torch.uint8) * 255).expand(3, size, size).clone()
    if kind == "solid":
        return torch.full((3, size, size), 255, dtype=torch.uint8)
    if kind == "random":
        return random_pattern((3, size, size), seed)  # fixed random RGB values
    raise ValueError(f"unknown trigger pattern {kind!r}; use checkerboard, solid or random")


def build(s: BadNetsSettings, image_size: int, seed: int) -> BadNets:
    """The registry's builder (`seed`, the run's, is not used: the pattern has its own)."""
    return BadNets(
        image_size,
        size=s.trigger_size,
        position=s.position,
        x=s.x,
        y=s.y,
        pattern=s.pattern,
        margin=s.margin,
        pattern_seed=s.pattern_seed,
    )
