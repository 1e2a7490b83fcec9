"""`small_cnn`: Small CNN; the network is net.py."""

from __future__ import annotations

from ..model import ModelKind

MODEL = ModelKind(
    label="Small CNN",
    build="unlearnscope.ml.models.small_cnn.net:build",
    cam_layer="features.stage3",
    order=10,
)
