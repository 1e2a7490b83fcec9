"""`defense`: what the defender has (identified poisoned samples, clean data)."""

from __future__ import annotations

from pydantic import (
    Field,
)

from ..strict import IMAGES, Strict
from .common import MAX_SIZE


class DefenseConfig(Strict):
    """What the defender has: identified poisoned samples and a little clean data."""

    forget_size: int = Field(  # images with trigger and target label; 0: none identified
        500,
        ge=0,
        le=MAX_SIZE,
        title="Forget set",
        description="identified poisoned samples; 0 = none (clean-data defences only)",
        json_schema_extra=IMAGES,
    )
    # A model from a checkpoint: the identified poisoned samples as image files (a folder
    # of images labelled attack.target_class, or with one folder per class named as the
    # data's classes). None: no forget set (a BackdoorBench file brings its own).
    forget_root: str | None = Field(
        None,
        min_length=1,
        max_length=500,
        title="Forget set folder",
        description="your model: images of the identified poisoned samples",
    )
    clean_fraction: float = Field(
        0.05, gt=0, le=1, title="Clean fraction", description="of the training set"
    )
    fisher_samples: int = Field(  # clean images for the diagonal Fisher
        512, ge=1, le=MAX_SIZE, title="Fisher samples", json_schema_extra=IMAGES
    )
