"""WaNet (Nguyen & Tran, ICLR 2021): an imperceptible, smooth warp of the whole image.

As in the authors' code: a k x k grid of random offsets P ~ U(-1, 1)^{2 x k x k},
normalised to mean |P| = 1, upsampled (bicubic, corners aligned) to the image size, and
added to the identity sampling grid at strength s:

    grid = clamp(identity + s * upsample(P) / H, -1, 1)      (grid_sample coordinates)
    T(x) = grid_sample(x, grid, bilinear, align_corners=True)

Noise mode: cross images are warped by grid + U(-1, 1)^{H x W x 2} / H (a fresh random
field per image), keep their labels, and teach the model that only the exact warp is
the trigger. Simplified here: the warp, the poisoned and the cross images are drawn once
when the training set is poisoned (static), not per batch as in the paper.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from ..base import Trigger, check_images, like_input, to_float
from .settings import WaNetSettings

CHUNK = 1024  # images per grid_sample call


def warp_field(image_size: int, k: int, strength: float, seed: int) -> torch.Tensor:
    """The fixed sampling grid (1, H, W, 2) of the WaNet trigger."""
    if not 2 <= k <= image_size:
        raise ValueError(f"the WaNet control grid k={k} must be in [2, image size {image_size}]")
    gen = torch.Generator().manual_seed(seed)
    ins = torch.rand(1, 2, k, k, generator=gen) * 2 - 1
    ins = ins / ins.abs().mean()
    noise = F.interpolate(ins, size=image_size, mode="bicubic", align_corners=True)
    noise = noise.permute(0, 2, 3, 1)  # (1, H, W, 2)
    axis = torch.linspace(-1, 1, steps=image_size)
    rows, cols = torch.meshgrid(axis, axis, indexing="ij")
    identity = torch.stack((cols, rows), 2)[None]  # grid_sample wants (x, y)
    return (identity + strength * noise / image_size).clamp(-1, 1)


def _warp(images: torch.Tensor, grid: torch.Tensor) -> torch.Tensor:
    x = to_float(images).float()
    out = torch.empty_like(x)
    for start in range(0, len(x), CHUNK):
        part = x[start : start + CHUNK]
        g = grid[start : start + CHUNK] if len(grid) > 1 else grid.expand(len(part), -1, -1, -1)
        out[start : start + CHUNK] = F.grid_sample(
            part, g.to(part.device), mode="bilinear", align_corners=True
        )
    return like_input(out, images)


class WaNet(Trigger):
    mask = None
    box = None

    def __init__(
        self,
        image_size: int,
        k: int = 4,
        strength: float = 0.5,
        cross_ratio: float = 2.0,
        seed: int = 1234,
    ) -> None:
        if strength <= 0:
            raise ValueError(f"the warp strength must be > 0, got {strength}")
        if cross_ratio < 0:
            raise ValueError(f"the cross ratio must be >= 0, got {cross_ratio}")
        self.image_size = image_size
        self.k, self.strength, self.cross_ratio = k, strength, cross_ratio
        self.grid = warp_field(image_size, k, strength, seed)  # (1, H, W, 2)

    def apply(self, images: torch.Tensor) -> torch.Tensor:
        check_images(images, self.image_size)
        if images.dim() == 3:
            return self.apply(images[None])[0]
        return _warp(images, self.grid)

    def cross(self, images: torch.Tensor, seed: int) -> torch.Tensor:
        """Each image warped by the trigger's field plus its own random noise field."""
        check_images(images, self.image_size)
        gen = torch.Generator().manual_seed(seed)
        s = self.image_size
        ins = torch.rand(len(images), s, s, 2, generator=gen) * 2 - 1
        return _warp(images, (self.grid + ins / s).clamp(-1, 1))

    def __repr__(self) -> str:
        return f"WaNet(k={self.k}, s={self.strength}, image_size={self.image_size})"


def build(s: WaNetSettings, image_size: int, seed: int) -> WaNet:
    """The registry's builder (`seed`, the run's, is not used: the warp has its own)."""
    return WaNet(
        image_size, k=s.grid, strength=s.strength, cross_ratio=s.cross_ratio, seed=s.pattern_seed
    )
