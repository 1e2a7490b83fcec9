"""Batch augmentation on tensors: random horizontal flip and random crop with padding.

Everything is vectorised over the batch (one gather, no per-image Python work), and works on
any device. Random numbers come from `generator` (on its own device, then moved), so a
training run is reproducible from its seed even when the images live on a GPU.
"""

from __future__ import annotations

import torch

MODES = ("none", "flip", "flip_crop")
PAD = 4  # pixels of reflect padding for the random crop (the usual CIFAR recipe)


def _rand_device(x: torch.Tensor, generator: torch.Generator | None) -> torch.device:
    return generator.device if generator is not None else x.device


def _reflect(idx: torch.Tensor, n: int) -> torch.Tensor:
    """Mirror out-of-range indices back into [0, n) like reflect padding (edge not repeated)."""
    idx = idx.abs()
    return torch.where(idx >= n, 2 * (n - 1) - idx, idx)


def random_flip(x: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
    """Each image mirrored left-right with probability 1/2. x: (B, C, H, W)."""
    flip = torch.rand(x.shape[0], generator=generator, device=_rand_device(x, generator)) < 0.5
    flip = flip.to(x.device)[:, None, None, None]  # (B, 1, 1, 1)
    return torch.where(flip, x.flip(-1), x)


def random_crop(
    x: torch.Tensor, pad: int = PAD, generator: torch.Generator | None = None
) -> torch.Tensor:
    """Each image shifted by a random offset in [-pad, pad] per axis, borders reflected.

    The same as padding by `pad` (reflect) and cropping the original size at a random place,
    done as one gather with per-image row and column indices. x: (B, C, H, W).
    """
    b, c, h, w = x.shape
    if pad >= min(h, w):
        raise ValueError(f"crop padding {pad} must be smaller than the image ({h}x{w})")
    offsets = torch.randint(
        -pad, pad + 1, (2, b), generator=generator, device=_rand_device(x, generator)
    ).to(x.device)  # (2, B): row and column shift
    rows = _reflect(offsets[0, :, None] + torch.arange(h, device=x.device), h)  # (B, H)
    cols = _reflect(offsets[1, :, None] + torch.arange(w, device=x.device), w)  # (B, W)
    batch = torch.arange(b, device=x.device)[:, None, None, None]
    chan = torch.arange(c, device=x.device)[None, :, None, None]
    return x[batch, chan, rows[:, None, :, None], cols[:, None, None, :]]  # (B, C, H, W)


def augment_batch(
    x: torch.Tensor, mode: str, generator: torch.Generator | None = None
) -> torch.Tensor:
    """Augment a (B, C, H, W) batch; mode is "none", "flip" or "flip_crop". Returns a new tensor."""
    if mode not in MODES:
        raise ValueError(f"unknown augmentation {mode!r}; choose one of {', '.join(MODES)}")
    if x.dim() != 4:
        raise ValueError(f"augment_batch expects a (B, C, H, W) batch, got {tuple(x.shape)}")
    if mode == "none":
        return x.clone()
    out = random_flip(x, generator)
    if mode == "flip_crop":
        out = random_crop(out, PAD, generator)
    return out
