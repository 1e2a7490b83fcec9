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


# -- localisation metrics (one map and one region per image; maps (B, H, W), region bool) --
#
#   rank accuracy  = |R ∩ top_|R|(cam)| / |R|   (Arras et al., 2022: relevance rank accuracy)
#   pointing game  = [argmax cam ∈ R]             (Zhang et al., 2018)
#   ROC-AUC        = P(cam(r) > cam(o)) + P(cam(r) = cam(o)) / 2 for r ∈ R, o ∉ R
#                    (Mann-Whitney U / (|R| |~R|), average ranks for ties)
#
# Ties are shared out evenly: when several pixels tie at the cut-off of the top-|R| set
# they count by the share of the remaining places; when several pixels share the
# maximum, pointing is the fraction of them inside R. So a constant map scores the
# region's share of the image on both, and 0.5 AUC.


def _flat(maps: Tensor, mask: Tensor) -> tuple[Tensor, Tensor]:
    m = _mask_weights(maps, mask).expand_as(maps) > 0.5
    return maps.flatten(1), m.flatten(1)


def rank_accuracy(maps: Tensor, mask: Tensor) -> Tensor:
    """Share of the region's pixels among the map's |R| highest pixels, per image (B,)."""
    v, r = _flat(maps, mask)
    n = r.sum(1)
    if bool((n == 0).any()):
        raise ValueError("rank accuracy needs a non-empty region in every image")
    ordered = v.sort(1, descending=True).values
    cut = ordered.gather(1, (n - 1)[:, None])  # the |R|-th largest value
    above, equal = v > cut, v == cut
    n_above = above.sum(1)
    share = (n - n_above).to(v.dtype) / equal.sum(1).to(v.dtype)
    hits = (above & r).sum(1).to(v.dtype) + share * (equal & r).sum(1).to(v.dtype)
    return hits / n.to(v.dtype)


def pointing_game(maps: Tensor, mask: Tensor) -> Tensor:
    """1 where the map's maximum lies in the region, per image (ties: the share inside)."""
    v, r = _flat(maps, mask)
    top = v == v.max(1, keepdim=True).values
    return (top & r).sum(1).to(v.dtype) / top.sum(1).to(v.dtype)


def region_auc(maps: Tensor, mask: Tensor) -> Tensor:
    """ROC-AUC of the map as a detector of region pixels, per image (rank-based, ties 1/2)."""
    v, r = _flat(maps, mask)
    n_in = r.sum(1).to(torch.float64)
    n_out = (~r).sum(1).to(torch.float64)
    if bool((n_in == 0).any()) or bool((n_out == 0).any()):
        raise ValueError("AUC needs pixels both inside and outside the region in every image")
    v64 = v.to(torch.float64).contiguous()
    s = v64.sort(1).values
    below = torch.searchsorted(s, v64, right=False).to(torch.float64)
    upto = torch.searchsorted(s, v64, right=True).to(torch.float64)
    ranks = (below + upto + 1) / 2  # 1-based average ranks
    rank_sum = (ranks * r).sum(1)
    auc = (rank_sum - n_in * (n_in + 1) / 2) / (n_in * n_out)
    return auc.to(maps.dtype)
