"""`preact_resnet18`: PreAct-ResNet-18; the network is net.py."""

from __future__ import annotations

from ..model import ModelKind

MODEL = ModelKind(
    label="PreAct-ResNet-18",
    build="unlearnscope.ml.models.preact_resnet18.net:build",
    cam_layer="layer4",
    order=30,
)
