"""The ResNet-18 network (bare: no normalisation; `models.classifier` adds it)."""

from __future__ import annotations

import torchvision
from torch import nn


def resnet18_cifar(num_classes: int = 10) -> nn.Module:
    """torchvision's ResNet-18 with a CIFAR stem: 3x3 first conv, stride 1, no max-pool."""
    net: nn.Module = torchvision.models.resnet18(weights=None, num_classes=num_classes)
    net.conv1 = nn.Conv2d(3, 64, 3, stride=1, padding=1, bias=False)
    net.maxpool = nn.Identity()
    return net


def build(num_classes: int, width: int) -> nn.Module:
    """The bare network for `num_classes` classes (`width`: small_cnn only)."""
    return resnet18_cifar(num_classes)
