"""`data`: the data set a run trains and tests on."""

from __future__ import annotations

from typing import Literal

from pydantic import (
    Field,
)

from ..strict import Strict, unit
from .common import MAX_SIZE, DatasetName, NormMean, NormStd


class DataConfig(Strict):
    name: DatasetName = Field(
        "shapes",
        title="Data set",
        description="shapes: built in, no download; cifar10/cifar100/gtsrb: torchvision's "
        "layouts; imagefolder: train/ and test/ class folders; arrays: train.npz, test.npz",
    )
    # Folder holding the data set (imagefolder: with train/ and test/; cifar10: torchvision
    # root). None: the CLI/server --data-dir.
    root: str | None = Field(
        None, title="Data folder", description="empty: the server's --data-dir"
    )
    # cifar10, cifar100, gtsrb: let torchvision download when online
    download: bool = Field(
        False, title="Download", description="cifar10/cifar100/gtsrb; needs internet"
    )
    image_size: int = Field(32, ge=8, le=256, title="Image size", json_schema_extra=unit("px"))
    # Sub-sample sizes (images); None = the whole split. shapes: how many to generate.
    train_size: int | None = Field(
        6000, ge=10, le=MAX_SIZE, title="Training images", description="empty: all"
    )
    test_size: int | None = Field(
        1000, ge=10, le=MAX_SIZE, title="Test images", description="empty: all"
    )
    # Normalisation is the model's first layer, so triggers are stamped on [0, 1] pixels.
    mean: tuple[NormMean, NormMean, NormMean] = Field(
        (0.5, 0.5, 0.5),
        strict=False,
        title="Mean (R, G, B)",
        description="normalisation inside the model",
    )
    std: tuple[NormStd, NormStd, NormStd] = Field(  # each > 0
        (0.25, 0.25, 0.25), strict=False, title="Std (R, G, B)"
    )
    augment: Literal["none", "flip", "flip_crop"] = Field("flip_crop", title="Augmentation")
