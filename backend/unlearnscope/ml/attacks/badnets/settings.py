"""Settings of `badnets`: the patch's size, place, pattern (Gu et al., 2017)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from ....config.common import Seed
from ....strict import PX, unit
from ..settings import AttackSettings


class BadNetsSettings(AttackSettings):
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
    pattern_seed: Seed = Field(1234, title="Pattern seed", description="seeds the random patch")

    @model_validator(mode="after")
    def _xy_given(self) -> BadNetsSettings:
        if self.position == "xy" and (self.x is None or self.y is None):
            raise ValueError("position='xy' needs both x and y (pixels from the top-left)")
        return self

    def check_image(self, image_size: int) -> None:
        if self.trigger_size + self.margin > image_size:
            raise ValueError(
                f"attack.settings.trigger_size={self.trigger_size} does not fit in "
                f"data.image_size={image_size}"
            )
        if self.position == "xy":
            assert self.x is not None and self.y is not None
            if max(self.x, self.y) + self.trigger_size > image_size:
                raise ValueError("attack.settings.x/y put the trigger outside the image")
