"""The PreAct-ResNet-18 network (bare: no normalisation; `models.classifier` adds it)."""

from __future__ import annotations

import torch
from torch import nn


class PreActBlock(nn.Module):
    """Pre-activation basic block (He et al., ECCV 2016): BN-ReLU-conv twice, identity or
    1x1-conv shortcut taken from the first activation when the shape changes."""

    def __init__(self, c_in: int, c_out: int, stride: int = 1) -> None:
        super().__init__()
        self.bn1 = nn.BatchNorm2d(c_in)
        self.conv1 = nn.Conv2d(c_in, c_out, 3, stride=stride, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(c_out)
        self.conv2 = nn.Conv2d(c_out, c_out, 3, stride=1, padding=1, bias=False)
        self.shortcut: nn.Module | None = None
        if stride != 1 or c_in != c_out:
            self.shortcut = nn.Conv2d(c_in, c_out, 1, stride=stride, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = torch.relu(self.bn1(x))
        shortcut = self.shortcut(out) if self.shortcut is not None else x
        out = self.conv1(out)
        out = self.conv2(torch.relu(self.bn2(out)))
        summed: torch.Tensor = out + shortcut
        return summed


class PreActResNet18(nn.Module):
    """PreAct-ResNet-18 for 32x32 inputs, as BackdoorBench uses it (its models/
    preact_resnet.py, after Kuang Liu's pytorch-cifar): 3x3 stem, four stages of two
    pre-activation blocks (64, 128, 256, 512 channels), global average pooling, linear.
    11.2M parameters. `layer4` (512 channels at 1/8 resolution) is the default CAM layer."""

    def __init__(self, num_classes: int = 10) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(3, 64, 3, stride=1, padding=1, bias=False)
        widths, c_in = (64, 128, 256, 512), 64
        for i, (c_out, stride) in enumerate(zip(widths, (1, 2, 2, 2), strict=True)):
            self.add_module(
                f"layer{i + 1}",
                nn.Sequential(PreActBlock(c_in, c_out, stride), PreActBlock(c_out, c_out)),
            )
            c_in = c_out
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.linear = nn.Linear(512, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.conv1(x)
        for name in ("layer1", "layer2", "layer3", "layer4"):
            x = self.get_submodule(name)(x)
        logits: torch.Tensor = self.linear(torch.flatten(self.avgpool(x), 1))
        return logits


def build(num_classes: int, width: int) -> nn.Module:
    """The bare network for `num_classes` classes (`width`: small_cnn only)."""
    return PreActResNet18(num_classes)
