"""The classifier every run uses: `Normalize` then a registered network (models/<name>/),
or a torchvision / timm architecture by name (`build_named_classifier`, models/named.py).

Every model starts with a `Normalize` layer, so callers feed unnormalised [0, 1] pixels
and triggers are stamped exactly as configured. Its `cam_layer_name` is the dotted path of
the CAM layer inside the full model; `cam_reshape`, when set (transformers), turns that
layer's output into (B, C, h, w) for the CAM.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable

import torch
from torch import Tensor, nn

from .named import build_named  # imports timm and torchvision only when it is called
from .registry import MODELS


class Normalize(nn.Module):
    def __init__(self, mean: tuple[float, ...], std: tuple[float, ...]) -> None:
        super().__init__()
        self.register_buffer("mean", torch.tensor(mean).view(1, -1, 1, 1))
        self.register_buffer("std", torch.tensor(std).view(1, -1, 1, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (B, C, H, W) in [0, 1]
        mean, std = self.get_buffer("mean"), self.get_buffer("std")
        return (x - mean) / std


class Classifier(nn.Sequential):
    """`Normalize` then the bare network; `cam_layer` is a path inside the full model."""

    def __init__(self, norm: Normalize, net: nn.Module, cam_layer: str) -> None:
        super().__init__()
        self.add_module("norm", norm)
        self.add_module("net", net)
        self.cam_layer_name = f"net.{cam_layer}"
        # Token models: the CAM layer's output -> (B, C, h, w); a plain attribute, no module.
        self.cam_reshape: Callable[[Tensor], Tensor] | None = None


def build_model(
    name: str,
    num_classes: int,
    mean: tuple[float, ...],
    std: tuple[float, ...],
    width: int = 32,
    cam_layer: str | None = None,
) -> Classifier:
    if name not in MODELS:
        raise ValueError(f"unknown model {name!r}; choose one of {sorted(MODELS)}")
    spec = MODELS[name]
    module, _, function = spec.build.partition(":")
    net = getattr(importlib.import_module(module), function)(num_classes, width)
    model = Classifier(Normalize(mean, std), net, spec.cam_layer)
    if cam_layer is not None:
        model.cam_layer_name = cam_layer
    get_layer(model, model.cam_layer_name)  # fail early on a bad path
    return model


def build_named_classifier(
    name: str,
    num_classes: int,
    mean: tuple[float, ...],
    std: tuple[float, ...],
    image_size: int,
    cam_layer: str | None = None,
) -> Classifier:
    """A torchvision or timm architecture by name ("timm:vit_tiny_patch16_224"), random-init,
    for square `image_size` images. `cam_layer`: a path in the full model ("net.layer3") or
    inside the network ("layer3"); default: models/named.py's rule for the architecture."""
    inner = cam_layer.removeprefix("net.") if cam_layer is not None else None
    named = build_named(name, num_classes, image_size, cam_layer=inner)
    model = Classifier(Normalize(mean, std), named.net, named.cam_layer)
    if named.tokens is not None:
        model.cam_reshape = named.tokens.reshape
    get_layer(model, model.cam_layer_name)
    return model


def get_layer(model: nn.Module, path: str) -> nn.Module:
    try:
        return model.get_submodule(path)
    except AttributeError as err:
        names = [n for n, m in model.named_modules() if isinstance(m, nn.Sequential | nn.Conv2d)]
        raise ValueError(
            f"no layer {path!r} in the model; conv layers and blocks: {names[:20]}"
        ) from err


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())
