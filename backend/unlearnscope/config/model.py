"""`model`: the architecture (a name of the model registry) and its CAM layer."""

from __future__ import annotations

from typing import Annotated

from pydantic import (
    Field,
    ValidationInfo,
    field_validator,
)

from ..ml.models.registry import MODELS as MODEL_REGISTRY
from ..strict import Strict, unit
from .common import known_in, listed

MODELS: tuple[str, ...] = tuple(MODEL_REGISTRY)  # the registry's names (ml/models/)


ModelName = Annotated[
    str, known_in(MODEL_REGISTRY, "model"), Field(json_schema_extra=listed(MODEL_REGISTRY))
]


class ModelConfig(Strict):
    name: ModelName = Field("small_cnn", title="Model")
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
        if value is not None and "name" in info.data and "width" in info.data:
            check_cam_layer(info.data["name"], info.data["width"], value)
        return value


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
