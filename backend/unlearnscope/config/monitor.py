"""`monitor`: what is measured while a defence runs, and how often."""

from __future__ import annotations

from typing import Literal

from pydantic import (
    Field,
    field_validator,
)

from ..strict import IMAGES, STEPS, Strict, unit
from .common import MAX_EVERY, MAX_SIZE, CamMethod


class MonitorConfig(Strict):
    # > 0: monitor beside training, on a snapshot of the weights, as often as this price
    # allows: the most the monitor may slow training, in percent, whatever else the
    # machine is doing (ml/engine/governor.py measures it). The *_every intervals are the
    # most often frames and TAR run; ASR/CA stay at the multiples of eval_every (late when
    # the budget cannot afford them on time, never skipped). Editable while the run runs.
    # 0 = inside the training loop, exactly every *_every steps (reproducible).
    budget: float = Field(
        5.0,
        ge=0,
        le=100,
        title="Monitoring budget",
        description="the most monitoring beside training may slow it; "
        "0 = in the training loop at fixed steps",
        json_schema_extra=unit("%"),
    )
    probe_count: int = Field(  # test images shown clean + triggered
        8, ge=0, le=64, title="Probe samples", description="shown with heatmaps"
    )
    frame_every: int = Field(  # steps between heatmap frames
        1,
        ge=0,
        le=MAX_EVERY,
        title="Heatmaps every",
        description="0 = never",
        json_schema_extra=STEPS,
    )
    tar_every: int = Field(  # steps between TAR on the monitor set
        1, ge=0, le=MAX_EVERY, title="TAR every", description="0 = never", json_schema_extra=STEPS
    )
    tar_set_size: int = Field(  # triggered test images for TAR
        128, ge=1, le=MAX_SIZE, title="TAR set", json_schema_extra=IMAGES
    )
    eval_every: int = Field(  # steps between ASR/CA on the monitor subset
        5,
        ge=0,
        le=MAX_EVERY,
        title="ASR/CA every",
        description="0 = never",
        json_schema_extra=STEPS,
    )
    eval_size: int = Field(  # test images in the monitor subset
        256, ge=1, le=MAX_SIZE, title="ASR/CA subset", json_schema_extra=IMAGES
    )
    path_points: int = Field(  # models on the backdoor-connected path at a phase's end
        11,
        ge=0,
        le=101,
        title="Path points",
        description="models between the backdoored and the current weights measured at "
        "every phase end (ASR/CA subset); 0 = never",
    )
    cam_method: CamMethod = Field("gradcam", title="CAM method")
    cam_class: Literal["predicted", "target", "true"] = Field("predicted", title="CAM class")
    # The trigger region TAR and the localisation metrics measure against, per image:
    # a patch's mask (BadNets); for every other attack the pixels where the trigger changed
    # the image most, |T(x) - x| summed over the channels (docs/method.md, Trigger region).
    region: Literal["top", "threshold"] = Field(
        "top",
        title="Trigger region",
        description="non-patch attacks: the top share of changed pixels, or a threshold",
    )
    region_percent: float | None = Field(
        None,
        gt=0,
        le=100,
        title="Region share",
        description="top: % of the image's pixels; empty: a BadNets patch's share",
        json_schema_extra=unit("%"),
    )
    region_threshold: float = Field(
        0.1,
        gt=0,
        le=3,
        title="Region threshold",
        description="threshold: least |T(x) - x| summed over R, G, B (0-1 pixel scale)",
    )

    @field_validator("path_points")
    @classmethod
    def _path_ends(cls, v: int) -> int:
        if v == 1:
            raise ValueError("a path needs both ends: 0 (never) or at least 2 points")
        return v
