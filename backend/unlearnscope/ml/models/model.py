"""`ModelKind`: what the model registry knows of an architecture (each folder's `MODEL`,
each plug-in's entry point). Torch-free, so the config can list and check names."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ModelKind:
    label: str  # a few words for people
    build: str  # "module:function", (num_classes, width) -> the bare nn.Module (no Normalize)
    cam_layer: str  # dotted module path of the default CAM layer inside the bare network
    order: int = 1000  # where it sits in lists people see (built-ins 0-99)
