"""The SmallCNN network (bare: no normalisation; `models.classifier` adds it)."""

from __future__ import annotations

import torch
from torch import nn


def _block(c_in: int, c_out: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(c_in, c_out, 3, padding=1, bias=False),
        nn.BatchNorm2d(c_out),
        nn.ReLU(inplace=True),
    )


class SmallCNN(nn.Module):
    """Three stages of two conv-BN-ReLU blocks (width w, 2w, 4w), global pooling, linear.

    width=32 has about 0.29M parameters. `features.stage3` (4w channels at 1/4 input
    resolution) is the default CAM layer: the last conv block, before pooling.
    """

    def __init__(self, num_classes: int = 10, width: int = 32) -> None:
        super().__init__()
        w = width
        self.features = nn.Sequential()
        self.features.add_module("stage1", nn.Sequential(_block(3, w), _block(w, w)))
        self.features.add_module("pool1", nn.MaxPool2d(2))
        self.features.add_module("stage2", nn.Sequential(_block(w, 2 * w), _block(2 * w, 2 * w)))
        self.features.add_module("pool2", nn.MaxPool2d(2))
        self.features.add_module(
            "stage3", nn.Sequential(_block(2 * w, 4 * w), _block(4 * w, 4 * w))
        )
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(4 * w, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.features(x)  # (B, 4w, H/4, W/4)
        logits: torch.Tensor = self.fc(torch.flatten(self.pool(x), 1))
        return logits


def build(num_classes: int, width: int) -> nn.Module:
    """The bare network for `num_classes` classes (`width`: small_cnn only)."""
    return SmallCNN(num_classes, width)
