"""Poisoning a training set with a trigger, and the ASR evaluation set."""

from __future__ import annotations

from dataclasses import dataclass, field

import torch

from ..imageset import ImageSet
from .base import Trigger


@dataclass
class PoisonedSet:
    data: ImageSet  # the poisoned training set: stamped images (relabelled unless clean-label)
    poisoned: torch.Tensor  # (n_poison,) int64 indices of the poisoned samples in `data`
    # (n_cross,) indices of noise-mode images (WaNet), labels kept; empty for other attacks
    cross: torch.Tensor = field(default_factory=lambda: torch.empty(0, dtype=torch.long))


def poison_count(n: int, rate: float) -> int:
    """How many images a poison rate means: a fraction of the whole training set, at least 1."""
    return max(1, round(rate * n))


def poison(train: ImageSet, trigger: Trigger, target: int, rate: float, seed: int) -> PoisonedSet:
    """All-to-one poisoning: stamp `rate * len(train)` random images. Deterministic from `seed`.

    Dirty label (BadNets, Blended, WaNet, input-aware): only non-target images are
    candidates and they are relabelled to the target, so every one teaches the backdoor.
    Clean label (SIG): only target-class images are candidates and labels stay; the count
    is still `rate * len(train)` (BackdoorBench's convention), capped at the class size.
    With `trigger.cross_ratio` > 0 (WaNet noise mode) `cross_ratio * n_poison` further
    images (any class, not poisoned) get `trigger.cross` and keep their labels.
    """
    if not 0 <= target < len(train.classes):
        raise ValueError(f"target class {target} is not one of the {len(train.classes)} classes")
    if not 0 < rate < 1:
        raise ValueError(f"poison rate must be in (0, 1), got {rate}")
    if trigger.clean_label:
        candidates = torch.nonzero(train.labels == target).flatten()
        if len(candidates) == 0:
            raise ValueError(f"nothing to poison: no training image has the target class {target}")
    else:
        candidates = torch.nonzero(train.labels != target).flatten()
        if len(candidates) == 0:
            raise ValueError("nothing to poison: every training image already has the target label")
    count = min(poison_count(len(train), rate), len(candidates))
    gen = torch.Generator().manual_seed(seed)
    pick = torch.randperm(len(candidates), generator=gen)[:count]
    idx = candidates[pick].sort().values  # (n_poison,)
    images, labels = train.images.clone(), train.labels.clone()
    images[idx] = trigger.apply(images[idx])
    if not trigger.clean_label:
        labels[idx] = target
    cross = torch.empty(0, dtype=torch.long)
    if trigger.cross_ratio > 0:
        rest = torch.ones(len(train), dtype=torch.bool)
        rest[idx] = False
        others = torch.nonzero(rest).flatten()
        n_cross = min(len(others), round(trigger.cross_ratio * count))
        cross = others[torch.randperm(len(others), generator=gen)[:n_cross]].sort().values
        if n_cross:
            images[cross] = trigger.cross(images[cross], seed + 1)
    return PoisonedSet(ImageSet(images, labels, list(train.classes)), idx, cross)


def triggered_non_target(test: ImageSet, trigger: Trigger, target: int) -> ImageSet:
    """The ASR set: stamped test images whose true class is not the target (true labels
    kept); only those the trigger covers (a given triggered set may cover fewer)."""
    keep = (test.labels != target) & trigger.covers(test.images)
    return ImageSet(trigger.apply(test.images[keep]), test.labels[keep], list(test.classes))
