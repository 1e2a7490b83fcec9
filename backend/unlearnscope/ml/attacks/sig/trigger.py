"""SIG (Barni, Kallas & Tondi, ICIP 2019): a horizontal sinusoidal signal, clean label.

    v(i, j) = delta * sin(2 pi j f / m),   j = 0..m-1 the column, m the image width
    T(x)    = clip(x + v, 0, 255)           (on every row and channel)

Only target-class training images are poisoned and their labels stay: the model learns
to associate the signal with the target class. The same delta is used at training and at
test time (as BackdoorBench does; the paper also reports a stronger test-time signal).
"""

from __future__ import annotations

import math

import torch

from ..base import Trigger, check_images
from .settings import SigSettings


class SIG(Trigger):
    mask = None
    box = None
    clean_label = True

    def __init__(self, image_size: int, delta: float = 20.0, frequency: float = 6.0) -> None:
        if not 0 < delta <= 255:
            raise ValueError(f"the SIG amplitude delta must be in (0, 255], got {delta}")
        if frequency <= 0:
            raise ValueError(f"the SIG frequency must be > 0, got {frequency}")
        self.image_size = image_size
        self.delta, self.frequency = delta, frequency
        j = torch.arange(image_size, dtype=torch.float64)
        row = delta * torch.sin(2 * math.pi * j * frequency / image_size)  # (W,) 0-255 scale
        self.signal = row.float().expand(3, image_size, image_size).clone()  # (3, H, W)

    def apply(self, images: torch.Tensor) -> torch.Tensor:
        check_images(images, self.image_size)
        signal = self.signal.to(images.device)
        if images.dtype == torch.uint8:
            return (images.float() + signal).round_().clamp_(0, 255).to(torch.uint8)
        return (images + (signal / 255).to(images.dtype)).clamp(0, 1)

    def __repr__(self) -> str:
        return f"SIG(delta={self.delta}, f={self.frequency}, image_size={self.image_size})"


def build(s: SigSettings, image_size: int, seed: int) -> SIG:
    """The registry's builder (SIG has no randomness)."""
    return SIG(image_size, delta=s.delta, frequency=s.frequency)
