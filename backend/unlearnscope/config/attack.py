"""`attack`: the backdoor attack UnlearnScope plants before a defence removes it."""

from __future__ import annotations

from typing import Any, Literal, get_args

from pydantic import (
    Field,
    model_validator,
)

from ..strict import PX, Strict, unit
from .common import Seed

AttackKind = Literal["badnets", "blended", "wanet", "sig", "inputaware"]
ATTACKS: tuple[str, ...] = get_args(AttackKind)


# Fields of AttackConfig read by one attack only (the form shows them for that attack).
ATTACK_FIELDS: dict[str, tuple[str, ...]] = {
    "badnets": ("trigger_size", "position", "x", "y", "pattern", "margin", "pattern_seed"),
    "blended": ("alpha", "pattern_seed"),
    "wanet": ("wanet_grid", "wanet_strength", "wanet_cross_ratio", "pattern_seed"),
    "sig": ("sig_delta", "sig_frequency"),
    "inputaware": (
        "ia_cross_rate",
        "ia_mask_density",
        "ia_lambda_div",
        "ia_lambda_norm",
        "ia_generator_lr",
    ),
}
# AttackConfig's fields before WaNet/SIG/input-aware: BadNets and Blended cache keys.
LEGACY_ATTACK_FIELDS = (
    "kind",
    "target_class",
    "poison_rate",
    "trigger_size",
    "position",
    "x",
    "y",
    "pattern",
    "margin",
    "alpha",
    "pattern_seed",
)


def _only(*kinds: str) -> dict[str, Any]:
    """json_schema_extra of a field read only by these attacks: the form hides it otherwise."""
    return {"attacks": list(kinds)}


class AttackConfig(Strict):
    kind: AttackKind = Field("badnets", title="Attack")
    target_class: int = Field(
        0, ge=0, le=9999, title="Target class", description="all-to-one target label"
    )
    poison_rate: float = Field(
        0.1,
        gt=0,
        lt=1,
        title="Poison rate",
        description="fraction of all training images (sig: taken from the target class)",
    )
    # BadNets patch
    trigger_size: int = Field(  # square side
        3, ge=1, le=64, title="Trigger size", json_schema_extra=unit("px")
    )
    position: Literal["bottom_right", "bottom_left", "top_right", "top_left", "xy"] = Field(
        "bottom_right", title="Trigger position"
    )
    x: int | None = Field(  # from the left
        None, ge=0, le=4096, title="Trigger x", description="with position xy", json_schema_extra=PX
    )
    y: int | None = Field(  # from the top
        None, ge=0, le=4096, title="Trigger y", description="with position xy", json_schema_extra=PX
    )
    pattern: Literal["checkerboard", "solid", "random"] = Field(
        "checkerboard", title="Trigger pattern"
    )
    margin: int = Field(  # between a corner trigger and the border
        1,
        ge=0,
        le=4096,
        title="Margin",
        description="from the border (corner positions)",
        json_schema_extra=PX,
    )
    # Blended
    alpha: float = Field(  # blend weight of the pattern
        0.1,
        gt=0,
        le=1,
        title="Blend weight",
        description="blended attack only",
        json_schema_extra=_only("blended"),
    )
    # the fixed random pattern (random patch, blended)
    pattern_seed: Seed = Field(
        1234,
        title="Pattern seed",
        description="seeds the random patch, blend image or warp field",
        json_schema_extra=_only("badnets", "blended", "wanet"),
    )
    # WaNet (Nguyen & Tran, ICLR 2021): a fixed k x k control grid of random offsets,
    # upsampled to a smooth warping field of strength s; noise mode adds cross samples.
    wanet_grid: int = Field(
        4,
        ge=2,
        le=64,
        title="Warp grid k",
        description="control points per side of the warping field",
        json_schema_extra=_only("wanet"),
    )
    wanet_strength: float = Field(
        0.5,
        gt=0,
        le=10,
        title="Warp strength s",
        description="size of the warp (paper: 0.5 on CIFAR-10)",
        json_schema_extra=_only("wanet"),
    )
    wanet_cross_ratio: float = Field(
        2.0,
        ge=0,
        le=10,
        title="Noise-mode cross ratio",
        description="noise-warped images per poisoned image, labels kept; 0 = off",
        json_schema_extra=_only("wanet"),
    )
    # SIG (Barni et al., ICIP 2019): x + delta * sin(2 pi j f / m) on every row, clean label
    sig_delta: float = Field(
        20.0,
        gt=0,
        le=255,
        title="Signal amplitude",
        description="SIG: delta on the 0-255 scale, training and test",
        json_schema_extra={**_only("sig"), "unit": "/255"},
    )
    sig_frequency: float = Field(
        6.0,
        gt=0,
        le=128,
        title="Signal frequency",
        description="SIG: periods across the image width",
        json_schema_extra=_only("sig"),
    )
    # Input-aware dynamic attack (Nguyen & Tran, NeurIPS 2020): a generator trained with
    # the classifier; each image gets its own pattern and mask.
    ia_cross_rate: float = Field(
        0.1,
        ge=0,
        lt=1,
        title="Cross-trigger rate",
        description="share of each batch given another image's trigger, label kept",
        json_schema_extra=_only("inputaware"),
    )
    ia_mask_density: float = Field(
        0.032,
        gt=0,
        le=1,
        title="Mask density",
        description="largest mean mask value before the norm penalty acts",
        json_schema_extra=_only("inputaware"),
    )
    ia_lambda_div: float = Field(
        1.0,
        ge=0,
        le=1e3,
        title="Diversity weight",
        description="weight of the trigger diversity loss",
        json_schema_extra=_only("inputaware"),
    )
    ia_lambda_norm: float = Field(
        100.0,
        ge=0,
        le=1e4,
        title="Mask norm weight",
        description="weight of the mask density penalty",
        json_schema_extra=_only("inputaware"),
    )
    ia_generator_lr: float = Field(
        0.01,
        gt=0,
        le=1,
        title="Generator learning rate",
        description="Adam, betas (0.5, 0.9)",
        json_schema_extra=_only("inputaware"),
    )

    def key_fields(self) -> dict[str, Any]:
        """The fields that enter the backdoored model's cache key.

        BadNets and Blended keep the dump they always had (the fields that existed
        before WaNet, SIG and input-aware were added), so their cached models stay
        valid; the newer attacks key on the common fields plus their own.
        """
        if self.kind in ("badnets", "blended"):
            return self.model_dump(include=set(LEGACY_ATTACK_FIELDS))
        own = ATTACK_FIELDS.get(self.kind, ())
        return self.model_dump(include={"kind", "target_class", "poison_rate", *own})

    @model_validator(mode="after")
    def _xy_given(self) -> AttackConfig:
        if self.position == "xy" and (self.x is None or self.y is None):
            raise ValueError("position='xy' needs both x and y (pixels from the top-left)")
        return self
