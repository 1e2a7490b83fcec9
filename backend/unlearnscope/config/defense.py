"""`defense`: what the defender has (identified poisoned samples, clean data)."""

from __future__ import annotations

from typing import Literal

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
        description="identified poisoned samples handed to the phases (the oracle's, or your "
        "folder's); 0 = none. A detection phase finds its own",
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
    # Whether the phases are handed the truly poisoned samples (the "oracle": only a
    # simulation knows them). off: the truth is hidden from every phase and a detection
    # phase (spectral, ac, abl, scan) must find the forget set. auto: on for a backdoor
    # planted here, off for a model from a file (RunConfig.oracle).
    oracle: Literal["auto", "on", "off"] = Field(
        "auto",
        title="Oracle forget set",
        description="on: phases get the truly poisoned samples; off: a detection phase "
        "must find them; auto: on for a backdoor planted here, off for your own model",
    )
    clean_fraction: float = Field(
        0.05, gt=0, le=1, title="Clean fraction", description="of the training set"
    )
    fisher_samples: int = Field(  # clean images for the diagonal Fisher
        512, ge=1, le=MAX_SIZE, title="Fisher samples", json_schema_extra=IMAGES
    )
