"""What every trigger is: `apply` stamps it on (B, 3, H, W) images and never modifies them.

Triggers are stamped on unnormalised pixels, uint8 or float in [0, 1], and return the
input's dtype. A patch trigger also has a `mask`/`box` (where it is); global triggers
(blend, warp, signal, generated) have None there, and their trigger region is computed
per image from what they changed (`ml/region.py`).
"""

from __future__ import annotations

from abc import ABC, abstractmethod

import torch

Box = tuple[int, int, int, int]  # x0, y0, x1, y1 in pixels, x1/y1 exclusive


def check_images(images: torch.Tensor, image_size: int) -> None:
    if images.dim() < 3 or images.shape[-3] != 3:
        raise ValueError(f"triggers stamp (B, 3, H, W) images, got {tuple(images.shape)}")
    if tuple(images.shape[-2:]) != (image_size, image_size):
        raise ValueError(
            f"this trigger was made for {image_size}x{image_size} images, "
            f"got {images.shape[-2]}x{images.shape[-1]}"
        )
    if images.dtype != torch.uint8 and not images.is_floating_point():
        raise TypeError(f"triggers stamp uint8 or float images, got {images.dtype}")


def as_dtype(pattern: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    """The uint8 pattern in the images' dtype and value range (uint8 or float [0, 1])."""
    pattern = pattern.to(like.device)
    return pattern if like.dtype == torch.uint8 else pattern.to(like.dtype) / 255


def to_float(images: torch.Tensor) -> torch.Tensor:
    """uint8 or float images as float32 in [0, 1] (a new tensor for uint8)."""
    return images.float().div(255) if images.dtype == torch.uint8 else images


def like_input(out: torch.Tensor, images: torch.Tensor) -> torch.Tensor:
    """Float [0, 1] result back in the input's dtype (uint8: rounded) and on its device."""
    if images.dtype == torch.uint8:
        out = (out * 255).round_().clamp_(0, 255).to(torch.uint8)
    else:
        out = out.to(images.dtype)
    return out.to(images.device)


def random_pattern(shape: tuple[int, ...], seed: int) -> torch.Tensor:
    """A fixed uniform random uint8 pattern from a seed."""
    gen = torch.Generator().manual_seed(seed)
    return torch.randint(0, 256, shape, generator=gen, dtype=torch.uint8)


class Trigger(ABC):
    """A backdoor trigger: `apply` stamps it; `mask`/`box` say where it is (None if global).

    `clean_label`: poisoning keeps labels and stamps target-class images only (SIG).
    `cross_ratio` > 0: poisoning adds that many `cross` images per poisoned one, with
    their labels kept (WaNet's noise mode).
    """

    image_size: int
    mask: torch.Tensor | None  # (H, W) bool, True on the trigger's pixels; None if global
    box: Box | None  # the patch's pixel box; None if global
    clean_label: bool = False
    cross_ratio: float = 0.0

    @abstractmethod
    def apply(self, images: torch.Tensor) -> torch.Tensor:
        """Stamped copy of (B, 3, H, W) uint8 or float [0, 1] images, in the same dtype."""

    def covers(self, images: torch.Tensor) -> torch.Tensor:
        """(B,) bool: the images this trigger has a triggered version of (all of them for a
        trigger that stamps; a triggered test set given as images covers its own)."""
        return torch.ones(images.shape[0], dtype=torch.bool)

    def cross(self, images: torch.Tensor, seed: int) -> torch.Tensor:
        """Noise-mode images (labels kept); only triggers with cross_ratio > 0 have them."""
        raise NotImplementedError(f"{type(self).__name__} has no cross (noise-mode) images")
