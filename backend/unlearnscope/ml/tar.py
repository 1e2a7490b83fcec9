"""Trigger Attention Ratio and trigger mass fraction of CAM maps, per image.

With `cam` one image's map (H, W) in [0, 1] and M the trigger mask (H, W) bool at the same
size (n_M = number of True pixels, n_~M = number of False pixels):

    TAR  = mean(cam[M]) / (mean(cam[~M]) + eps)
         = (sum(cam[M]) / n_M) / (sum(cam[~M]) / n_~M + eps)
    mass = sum(cam[M]) / (sum(cam) + eps)

TAR > 1: attention concentrates on the trigger; ~1: no preference; < 1: it is elsewhere.
mass is the share of the map's total heat that falls on the trigger (0 for an all-zero map).
"""

from __future__ import annotations

import torch
from torch import Tensor


def _mask_weights(maps: Tensor, mask: Tensor) -> Tensor:
    """The mask as (1 or B, H, W) floats matching `maps` (B, H, W); checks it fits."""
    if maps.ndim != 3:
        raise ValueError(f"maps must be (B, H, W), got shape {tuple(maps.shape)}")
    if mask.dtype != torch.bool:
        raise TypeError(f"the trigger mask must be a bool tensor, got {mask.dtype}")
    if mask.ndim == 2:
        mask = mask[None]
    if mask.ndim != 3 or mask.shape[-2:] != maps.shape[-2:] or mask.shape[0] not in (1, len(maps)):
        raise ValueError(
            f"mask of shape {tuple(mask.shape)} does not fit maps of shape {tuple(maps.shape)};"
            " give it at input size, (H, W) or (B, H, W)"
        )
    return mask.to(device=maps.device, dtype=maps.dtype)


def trigger_attention_ratio(maps: Tensor, mask: Tensor, eps: float = 1e-6) -> Tensor:
    """TAR per image: mean(cam[M]) / (mean(cam[~M]) + eps). maps (B, H, W) -> (B,).

    `mask` is (H, W) or (B, H, W) bool; it must mark some pixels and leave some unmarked.
    """
    m = _mask_weights(maps, mask)  # (1 or B, H, W)
    n_in = m.sum((1, 2))
    n_out = (1 - m).sum((1, 2))
    if bool((n_in == 0).any()) or bool((n_out == 0).any()):
        raise ValueError("TAR needs a trigger mask with pixels both inside and outside it")
    mean_in = (maps * m).sum((1, 2)) / n_in
    mean_out = (maps * (1 - m)).sum((1, 2)) / n_out
    return mean_in / (mean_out + eps)


def mass_fraction(maps: Tensor, mask: Tensor, eps: float = 1e-6) -> Tensor:
    """Trigger mass fraction per image: sum(cam[M]) / (sum(cam) + eps). (B, H, W) -> (B,)."""
    m = _mask_weights(maps, mask)
    return (maps * m).sum((1, 2)) / (maps.sum((1, 2)) + eps)


tar = trigger_attention_ratio  # short alias
