"""Settings of `abl`, anti-backdoor learning's isolation (Li et al., NeurIPS 2021): the
paper isolates p = 1% of the training set (its default isolation ratio)."""

from __future__ import annotations

from pydantic import Field

from ..settings import KindSettings


class AblSettings(KindSettings):
    isolation_ratio: float = Field(
        0.01,
        gt=0,
        le=0.5,
        title="Isolation ratio",
        description="share of the training set with the lowest loss to flag",
    )
