"""Model registry: each entry builds a classifier and names its default CAM layer.

Every model starts with a `Normalize` layer, so callers feed unnormalised [0, 1] pixels
and triggers are stamped exactly as configured. Adding a model is adding one entry.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
import torchvision
from torch import nn


class Normalize(nn.Module):
    def __init__(self, mean: tuple[float, ...], std: tuple[float, ...]) -> None:
        super().__init__()
        self.register_buffer("mean", torch.tensor(mean).view(1, -1, 1, 1))
        self.register_buffer("std", torch.tensor(std).view(1, -1, 1, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (B, C, H, W) in [0, 1]
        mean, std = self.get_buffer("mean"), self.get_buffer("std")
        return (x - mean) / std


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


def resnet18_cifar(num_classes: int = 10) -> nn.Module:
    """torchvision's ResNet-18 with a CIFAR stem: 3x3 first conv, stride 1, no max-pool."""
    net: nn.Module = torchvision.models.resnet18(weights=None, num_classes=num_classes)
    net.conv1 = nn.Conv2d(3, 64, 3, stride=1, padding=1, bias=False)
    net.maxpool = nn.Identity()
    return net


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


@dataclass(frozen=True)
class ModelSpec:
    build: Callable[[int, int], nn.Module]  # (num_classes, width) -> bare model
    cam_layer: str  # dotted module path inside the bare model


MODEL_REGISTRY: dict[str, ModelSpec] = {
    "small_cnn": ModelSpec(lambda k, w: SmallCNN(k, w), "features.stage3"),
    "resnet18": ModelSpec(lambda k, w: resnet18_cifar(k), "layer4"),
    "preact_resnet18": ModelSpec(lambda k, w: PreActResNet18(k), "layer4"),
}


class Classifier(nn.Sequential):
    """`Normalize` then the bare network; `cam_layer` is a path inside the full model."""

    def __init__(self, norm: Normalize, net: nn.Module, cam_layer: str) -> None:
        super().__init__()
        self.add_module("norm", norm)
        self.add_module("net", net)
        self.cam_layer_name = f"net.{cam_layer}"


def build_model(
    name: str,
    num_classes: int,
    mean: tuple[float, ...],
    std: tuple[float, ...],
    width: int = 32,
    cam_layer: str | None = None,
) -> Classifier:
    if name not in MODEL_REGISTRY:
        raise ValueError(f"unknown model {name!r}; choose one of {sorted(MODEL_REGISTRY)}")
    spec = MODEL_REGISTRY[name]
    model = Classifier(Normalize(mean, std), spec.build(num_classes, width), spec.cam_layer)
    if cam_layer is not None:
        model.cam_layer_name = cam_layer
    get_layer(model, model.cam_layer_name)  # fail early on a bad path
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
