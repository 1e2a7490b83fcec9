"""`resnet18`: ResNet-18 (CIFAR stem); the network is net.py."""

from __future__ import annotations

from ..model import ModelKind

MODEL = ModelKind(
    label="ResNet-18 (CIFAR stem)",
    build="unlearnscope.ml.models.resnet18.net:build",
    cam_layer="layer4",
    order=20,
)
