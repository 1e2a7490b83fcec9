"""Triggers the defender holds without having planted them.

- `NoTrigger`: the trigger is unknown; images stay as they are (nothing to measure ASR
  or TAR with until a phase recovers one).
- `PairedTrigger`: a triggered test set given as images (BackdoorBench's `bd_test`): the
  triggered version of each clean image it covers, found by the clean image's content.
  An image it does not cover stays as it is (a target-class image, in an all-to-one
  attack).
- `RecoveredTrigger`: a mask m (H, W) in [0, 1] and a pattern p (3, H, W) in [0, 1] that a
  phase reverse-engineered (Neural Cleanse), stamped as (1 - m) * x + m * p. Its `mask`
  (m >= 0.5) is the region TAR looks at.
"""

from __future__ import annotations

import hashlib

import torch

from ..attacks.base import Trigger, check_images, like_input, to_float

MASK_THRESHOLD = 0.5  # recovered mask pixels >= this are the trigger's pixels


def _digest(image: torch.Tensor) -> bytes:
    """Content key of one (3, H, W) uint8 image."""
    return hashlib.blake2b(image.contiguous().numpy().tobytes(), digest_size=16).digest()


def _as_uint8(images: torch.Tensor) -> torch.Tensor:
    if images.dtype == torch.uint8:
        return images.cpu()
    return (images.detach().float().cpu() * 255).round_().clamp_(0, 255).to(torch.uint8)


class NoTrigger(Trigger):
    """An unknown trigger: `apply` returns a copy of the images."""

    mask = None
    box = None

    def __init__(self, image_size: int) -> None:
        self.image_size = image_size

    def apply(self, images: torch.Tensor) -> torch.Tensor:
        check_images(images, self.image_size)
        return images.clone()


class PairedTrigger(Trigger):
    """The given triggered image of each covered clean image (matched by content)."""

    mask = None
    box = None

    def __init__(self, clean: torch.Tensor, triggered: torch.Tensor) -> None:
        if clean.shape != triggered.shape or clean.dtype != torch.uint8:
            raise ValueError(
                f"clean and triggered images must be (N, 3, H, W) uint8 of one shape, got "
                f"{tuple(clean.shape)} {clean.dtype} and {tuple(triggered.shape)}"
            )
        self.image_size = clean.shape[-1]
        self._triggered = triggered.cpu()
        self._row = {_digest(img): i for i, img in enumerate(clean.cpu())}

    def __len__(self) -> int:
        return len(self._row)

    def covers(self, images: torch.Tensor) -> torch.Tensor:
        """(B,) bool: which images have a triggered version here (by content)."""
        return torch.tensor([_digest(img) in self._row for img in _as_uint8(images)])

    def apply(self, images: torch.Tensor) -> torch.Tensor:
        check_images(images, self.image_size)
        keys = [self._row.get(_digest(img)) for img in _as_uint8(images)]
        out = images.clone()
        for i, row in enumerate(keys):
            if row is not None:
                stamped = self._triggered[row].to(images.device)
                out[i] = stamped if images.dtype == torch.uint8 else stamped.to(out.dtype) / 255
        return out


class RecoveredTrigger(Trigger):
    """A reverse-engineered mask and pattern, and the class it leads to."""

    box = None

    def __init__(self, mask: torch.Tensor, pattern: torch.Tensor, target: int, source: str):
        self.soft_mask = mask.detach().float().cpu().clamp(0, 1)  # (H, W)
        self.pattern = pattern.detach().float().cpu().clamp(0, 1)  # (3, H, W)
        self.image_size = int(mask.shape[-1])
        self.mask = self.soft_mask >= MASK_THRESHOLD
        if not bool(self.mask.any()):  # a faint mask: its strongest pixel is the region
            flat = torch.zeros(self.mask.numel(), dtype=torch.bool)
            flat[int(self.soft_mask.flatten().argmax())] = True
            self.mask = flat.view_as(self.mask)
        self.target = target
        self.source = source  # the phase that recovered it, for labels ("nc, phase 1")

    def apply(self, images: torch.Tensor) -> torch.Tensor:
        check_images(images, self.image_size)
        x = to_float(images)
        m = self.soft_mask.to(x.device)
        out = (1 - m) * x + m * self.pattern.to(x.device)
        return like_input(out, images)


def recovered_from_bytes(
    size: int, mask: bytes, pattern: bytes, target: int, source: str
) -> RecoveredTrigger:
    """A RecoveredTrigger from the bytes a TriggerFound event stores (float32, C order)."""
    m = torch.frombuffer(bytearray(mask), dtype=torch.float32).view(size, size)
    p = torch.frombuffer(bytearray(pattern), dtype=torch.float32).view(3, size, size)
    return RecoveredTrigger(m, p, target, source)
