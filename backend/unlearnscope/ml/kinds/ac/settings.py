"""Settings of `ac`, activation clustering (Chen et al., 2018): 10 dimensions (the
paper's), 2-means, a class is poisoned when its smaller cluster holds at most 35% of it
(the relative-size rule of the paper and of ART's implementation) and the split's
silhouette score is at least 0.10. The paper reduces with ICA; the default here is PCA
(ml/detection/clustering.py says why, and why both tests)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from ..settings import KindSettings


class ActivationClusteringSettings(KindSettings):
    dims: int = Field(10, ge=1, le=512, title="Dimensions", description="after reduction")
    method: Literal["pca", "ica"] = Field(
        "pca", title="Reduction", description="PCA, or FastICA as in the paper"
    )
    size_threshold: float = Field(
        0.35,
        gt=0,
        le=0.5,
        title="Relative size",
        description="a smaller cluster of at most this share of its class is poison",
    )
    silhouette_threshold: float = Field(
        0.10,
        ge=-1,
        le=1,
        title="Silhouette",
        description="and the split is at least this well separated",
    )
