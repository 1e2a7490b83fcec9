"""Backdoor attacks: triggers, poisoning of a training set, and the ASR evaluation set.

A trigger is a pattern plus (for local triggers) a pixel mask; the mask is what the Trigger
Attention Ratio measures against. Triggers are stamped on unnormalised pixels, uint8 or
float in [0, 1], and never modify their input.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass

import torch

from ..config import AttackConfig
from .imageset import ImageSet

Box = tuple[int, int, int, int]  # x0, y0, x1, y1 in pixels, x1/y1 exclusive


def _check_images(images: torch.Tensor, image_size: int) -> None:
    if images.dim() < 3 or images.shape[-3] != 3:
        raise ValueError(f"triggers stamp (B, 3, H, W) images, got {tuple(images.shape)}")
    if tuple(images.shape[-2:]) != (image_size, image_size):
        raise ValueError(
            f"this trigger was made for {image_size}x{image_size} images, "
            f"got {images.shape[-2]}x{images.shape[-1]}"
        )
    if images.dtype != torch.uint8 and not images.is_floating_point():
        raise TypeError(f"triggers stamp uint8 or float images, got {images.dtype}")


def _as_dtype(pattern: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    """The uint8 pattern in the images' dtype and value range (uint8 or float [0, 1])."""
    pattern = pattern.to(like.device)
    return pattern if like.dtype == torch.uint8 else pattern.to(like.dtype) / 255


def random_pattern(shape: tuple[int, ...], seed: int) -> torch.Tensor:
    """A fixed uniform random uint8 pattern from a seed."""
    gen = torch.Generator().manual_seed(seed)
    return torch.randint(0, 256, shape, generator=gen, dtype=torch.uint8)


class Trigger(ABC):
    """A backdoor trigger: `apply` stamps it; `mask`/`box` say where it is (None if global)."""

    image_size: int
    mask: torch.Tensor | None  # (H, W) bool, True on the trigger's pixels; None if global
    box: Box | None  # the patch's pixel box; None if global

    @abstractmethod
    def apply(self, images: torch.Tensor) -> torch.Tensor:
        """Stamped copy of (B, 3, H, W) uint8 or float [0, 1] images, in the same dtype."""


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
        _check_images(images, self.image_size)
        assert self.box is not None  # a patch always has its box
        x0, y0, x1, y1 = self.box
        out = images.clone()
        out[..., y0:y1, x0:x1] = _as_dtype(self.pattern, images)
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


class Blended(Trigger):
    """A fixed random image blended over the whole input: x' = (1 - alpha) x + alpha p
    (Chen et al., 2017). It has no local mask, so TAR does not apply."""

    mask = None
    box = None

    def __init__(self, image_size: int, alpha: float = 0.1, pattern_seed: int = 1234) -> None:
        if not 0 < alpha <= 1:
            raise ValueError(f"blend alpha must be in (0, 1], got {alpha}")
        self.image_size = image_size
        self.alpha = alpha
        self.pattern = random_pattern((3, image_size, image_size), pattern_seed)  # uint8

    def apply(self, images: torch.Tensor) -> torch.Tensor:
        _check_images(images, self.image_size)
        if images.is_floating_point():
            return (1 - self.alpha) * images + self.alpha * _as_dtype(self.pattern, images)
        x = images.float() / 255
        blended = (1 - self.alpha) * x + self.alpha * _as_dtype(self.pattern, x)
        return (blended * 255).round_().clamp_(0, 255).to(torch.uint8)

    def __repr__(self) -> str:
        return f"Blended(alpha={self.alpha}, image_size={self.image_size})"


def make_trigger(cfg: AttackConfig, image_size: int) -> Trigger:
    if cfg.kind == "badnets":
        return BadNets(
            image_size,
            size=cfg.trigger_size,
            position=cfg.position,
            x=cfg.x,
            y=cfg.y,
            pattern=cfg.pattern,
            margin=cfg.margin,
            pattern_seed=cfg.pattern_seed,
        )
    if cfg.kind == "blended":
        return Blended(image_size, alpha=cfg.alpha, pattern_seed=cfg.pattern_seed)
    raise ValueError(f"unknown attack {cfg.kind!r}")


@dataclass
class PoisonedSet:
    data: ImageSet  # the poisoned training set: stamped images relabelled to the target
    poisoned: torch.Tensor  # (n_poison,) int64 indices of the poisoned samples in `data`


def poison_count(n: int, rate: float) -> int:
    """How many images a poison rate means: a fraction of the whole training set, at least 1."""
    return max(1, round(rate * n))


def poison(train: ImageSet, trigger: Trigger, target: int, rate: float, seed: int) -> PoisonedSet:
    """All-to-one poisoning: stamp `rate * len(train)` random non-target images, relabel them.

    Only images whose label is not the target are candidates (standard BadNets), so every
    poisoned sample teaches the backdoor. Deterministic from `seed`.
    """
    if not 0 <= target < len(train.classes):
        raise ValueError(f"target class {target} is not one of the {len(train.classes)} classes")
    if not 0 < rate < 1:
        raise ValueError(f"poison rate must be in (0, 1), got {rate}")
    candidates = torch.nonzero(train.labels != target).flatten()
    if len(candidates) == 0:
        raise ValueError("nothing to poison: every training image already has the target label")
    count = min(poison_count(len(train), rate), len(candidates))
    gen = torch.Generator().manual_seed(seed)
    pick = torch.randperm(len(candidates), generator=gen)[:count]
    idx = candidates[pick].sort().values  # (n_poison,)
    images, labels = train.images.clone(), train.labels.clone()
    images[idx] = trigger.apply(images[idx])
    labels[idx] = target
    return PoisonedSet(ImageSet(images, labels, list(train.classes)), idx)


def triggered_non_target(test: ImageSet, trigger: Trigger, target: int) -> ImageSet:
    """The ASR set: stamped test images whose true class is not the target (true labels kept)."""
    keep = test.labels != target
    return ImageSet(trigger.apply(test.images[keep]), test.labels[keep], list(test.classes))
