"""Settings of `fineprune`, fine-pruning (Liu, Dolan-Gavitt & Garg, RAID 2018).

The paper prunes the last convolutional layer's channels in increasing order of their mean
activation on clean data and stops when the accuracy on clean validation data has dropped
by 4%; then it fine-tunes on clean data. Defaults: that 4-point tolerance, a fifth of the
defender's clean set held out to measure it, and at most 80% of the channels pruned (a
bound the paper does not need: its stop rule ends earlier). The fine-tuning takes the
phase's lr, batch and steps.
"""

from __future__ import annotations

from pydantic import Field

from ....strict import unit
from ..settings import KindSettings


class FinePruneSettings(KindSettings):
    max_acc_drop: float = Field(
        4.0,
        ge=0,
        le=100,
        title="Accuracy drop",
        description="prune while held-out clean accuracy stays within this of the start",
        json_schema_extra=unit("points"),
    )
    max_ratio: float = Field(
        0.8,
        gt=0,
        le=1,
        title="Largest prune ratio",
        description="share of the last layer's channels that may be pruned",
    )
    holdout_fraction: float = Field(
        0.2,
        gt=0,
        lt=1,
        title="Held-out share",
        description="of the clean set, for the accuracy that stops pruning",
    )
