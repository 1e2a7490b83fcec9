"""The trigger region of each image: where TAR and the localisation metrics look.

- A patch trigger (BadNets): its mask, the same for every image.
- Any other trigger T, per image x: the change d(x) = sum over R, G, B of |T(x) - x|
  (pixels on the 0-1 scale), and either
    "top":       the ceil(q/100 * H * W) pixels with the largest d (ties broken by pixel
                 order, row-major), q = `region_percent`; by default a BadNets patch's
                 share of the image at BadNets' default size, (3 / image_size)^2 (on 32x32:
                 0.88%);
    "threshold": the pixels with d >= `region_threshold`; an image where no pixel reaches
                 it falls back to its single most changed pixel (so the region is never
                 empty).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import torch

from ..config import MonitorConfig
from .attacks.badnets.settings import BadNetsSettings
from .attacks.base import Trigger

# the side of a default BadNets patch: the default top share of the other triggers' region
DEFAULT_PATCH: int = BadNetsSettings().trigger_size

RegionMode = Literal["mask", "top", "threshold"]


@dataclass(frozen=True)
class RegionRule:
    mode: RegionMode
    percent: float = 0.0  # "top": share of the pixels, percent
    threshold: float = 0.0  # "threshold": least summed |T(x) - x|

    def describe(self) -> str:
        """One line for the page: which region TAR is measured on."""
        if self.mode == "mask":
            return "trigger patch (its mask)"
        if self.mode == "top":
            return f"top {self.percent:.3g}% most changed pixels, |T(x)−x|"
        return f"pixels with |T(x)−x| ≥ {self.threshold:.3g} (summed over RGB)"


def region_rule(monitor: MonitorConfig, image_size: int, trigger: Trigger) -> RegionRule:
    if trigger.mask is not None:
        return RegionRule("mask")
    if monitor.region == "threshold":
        return RegionRule("threshold", threshold=monitor.region_threshold)
    percent = monitor.region_percent
    if percent is None:
        percent = 100.0 * (DEFAULT_PATCH / image_size) ** 2
    return RegionRule("top", percent=percent)


def change_map(clean: torch.Tensor, triggered: torch.Tensor) -> torch.Tensor:
    """d = sum over channels of |T(x) - x| on the 0-1 scale: (B, 3, H, W) -> (B, H, W)."""
    a = clean.float() / 255 if clean.dtype == torch.uint8 else clean.float()
    b = triggered.float() / 255 if triggered.dtype == torch.uint8 else triggered.float()
    return (b - a).abs().sum(1)


def trigger_region(
    trigger: Trigger, clean: torch.Tensor, triggered: torch.Tensor, rule: RegionRule
) -> torch.Tensor:
    """(B, H, W) bool: each image's trigger region (see the module docstring)."""
    b, h, w = clean.shape[0], clean.shape[-2], clean.shape[-1]
    if rule.mode == "mask":
        if trigger.mask is None:
            raise ValueError("a 'mask' region needs a trigger with a mask (a patch)")
        return trigger.mask.to(clean.device).expand(b, h, w).clone()
    d = change_map(clean, triggered).flatten(1)  # (B, H*W)
    if rule.mode == "top":
        k = min(h * w, max(1, math.ceil(rule.percent / 100 * h * w)))
        order = torch.sort(d, dim=1, descending=True, stable=True).indices[:, :k]
        region = torch.zeros_like(d, dtype=torch.bool)
        region.scatter_(1, order, True)
        return region.view(b, h, w)
    region = d >= rule.threshold
    empty = ~region.any(1)
    if bool(empty.any()):
        top = d.argmax(1)
        region[empty, top[empty]] = True
    return region.view(b, h, w)
