"""`model`: the architecture, where its weights come from, and its CAM layer.

`name` is a name of the model registry (`small_cnn`, `resnet18`, `preact_resnet18`, or a
plug-in) or a torchvision or timm architecture by name (`torchvision:resnet50`,
`timm:vit_tiny_patch16_224`). `source` says where the backdoored model comes from:
`train` (UnlearnScope plants the attack and trains it, as always), `file` (the user's
checkpoint: safetensors or a `.pt`/`.pth` state dict, read without unpickling code), or
`backdoorbench` (BackdoorBench's `attack_result.pt`: model, triggered test set and the
identified poisoned training samples). `file` is a path under the data directory (an
upload lands there) or absolute (the command line).
"""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)

from ..ml.models.registry import MODELS as MODEL_REGISTRY
from ..strict import Strict, unit

MODELS: tuple[str, ...] = tuple(MODEL_REGISTRY)  # the registry's names (ml/models/)


NAMED_PREFIXES = ("torchvision", "timm")  # architectures by name: "<library>:<arch>"
_NAMED = re.compile(r"^(torchvision|timm):[A-Za-z0-9_.]{1,100}$")
ModelSource = Literal["train", "file", "backdoorbench"]


def is_named(name: str) -> bool:
    """True for a torchvision or timm architecture by name ("timm:resnet18")."""
    return bool(_NAMED.match(name))


def _model_name(name: str) -> str:
    if name in MODEL_REGISTRY or is_named(name):
        return name
    if ":" in name:
        raise ValueError(
            f"unknown model {name!r}: a library's architecture is written "
            "torchvision:<name> or timm:<name>, e.g. timm:resnet18"
        )
    raise ValueError(
        f"unknown model {name!r}; choose one of {sorted(MODEL_REGISTRY)}, or a torchvision "
        "or timm architecture such as torchvision:resnet50 or timm:vit_tiny_patch16_224"
    )


def _examples(schema: dict[str, object]) -> None:
    schema["examples"] = [*MODEL_REGISTRY, "torchvision:resnet50", "timm:vit_tiny_patch16_224"]


ModelName = Annotated[str, AfterValidator(_model_name), Field(json_schema_extra=_examples)]


class ModelConfig(Strict):
    name: ModelName = Field(
        "small_cnn",
        title="Model",
        min_length=1,
        max_length=120,
        description="a registry model, or torchvision:NAME / timm:NAME",
    )
    source: ModelSource = Field(
        "train",
        title="Backdoored model",
        description="train: planted and trained here; file: your checkpoint; "
        "backdoorbench: a BackdoorBench attack_result.pt",
    )
    file: str | None = Field(
        None,
        min_length=1,
        max_length=500,
        title="Model file",
        description="under the data directory (uploads land there), or an absolute path",
    )
    width: int = Field(  # small_cnn: channels of the first block
        32,
        ge=4,
        le=256,
        title="Width",
        description="small_cnn first-stage width",
        json_schema_extra=unit("channels"),
    )
    # None: the model's default CAM layer; else a dotted module path in the model
    # ("net.features.stage2"), checked against the model when the config is validated.
    cam_layer: str | None = Field(
        None,
        min_length=1,
        max_length=200,
        title="Grad-CAM layer",
        description="empty: the model's last conv block",
    )

    @field_validator("cam_layer")
    @classmethod
    def _cam_layer_exists(cls, value: str | None, info: ValidationInfo) -> str | None:
        name = info.data.get("name")
        if value is not None and name in MODEL_REGISTRY and "width" in info.data:
            # (a library's architecture is checked when its model is built: `check`)
            check_cam_layer(name, info.data["width"], value)
        return value

    @model_validator(mode="after")
    def _file_when_imported(self) -> ModelConfig:
        if self.source != "train" and self.file is None:
            raise ValueError(
                f"model.source {self.source!r} needs model.file: the checkpoint to load "
                "(upload it in the form, or give its path)"
            )
        if self.source == "train" and self.file is not None:
            raise ValueError(
                "model.file is given but model.source is 'train': set source to 'file' "
                "(or 'backdoorbench') to load it, or leave the file out"
            )
        return self

    @property
    def imported(self) -> bool:
        """The backdoored model comes from the user, not from training here."""
        return self.source != "train"


def check_cam_layer(model: str, width: int, path: str) -> None:
    """ValueError unless `path` names a module of `model` (built on the meta device: no
    memory, no weights; torch is imported only when a layer is given)."""
    import torch

    from ..ml.models.classifier import build_model

    with torch.device("meta"):
        net = build_model(model, 10, (0.5, 0.5, 0.5), (0.25, 0.25, 0.25), width=width)
    names = {name for name, _ in net.named_modules() if name}
    if path not in names:
        convs = [n for n, m in net.named_modules() if isinstance(m, torch.nn.Conv2d)]
        raise ValueError(
            f"no layer {path!r} in {model}; e.g. {net.cam_layer_name!r} (the default) or a "
            f"conv layer such as {convs[-1]!r}"
        )
