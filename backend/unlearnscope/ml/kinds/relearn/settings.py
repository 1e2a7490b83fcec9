"""Settings of `relearn`, the retuning attack (RA) of Min et al., NeurIPS 2024
("Uncovering, Explaining, and Mitigating the Superficial Safety of Backdoor Defense").

The attacker fine-tunes the purified model on a small set mixing poisoned (triggered,
target-labelled) and clean images. Our defaults: a set of 1% of the CIFAR-10 training set
(500 images) of which 10% are poisoned (the attack's poison rate), ~5 epochs: a stronger
attack than the paper's. The paper's own setting (the authors' fine_tune/ft_poison.py:
`--poison_num 5 --epochs 5 --lr 0.01` on the defender's clean split) is
`retune_size: null, poisoned_count: 5` (the preset phase `relearn-paper`).
"""

from __future__ import annotations

from pydantic import Field

from ....strict import IMAGES
from ..settings import KindSettings


class RelearnSettings(KindSettings):
    retune_size: int | None = Field(
        500,
        ge=2,
        le=1_000_000,
        title="Retuning set",
        description="images in the attacker's fine-tuning set; empty: the defender's whole "
        "clean split plus the poisoned ones (the paper's setting)",
        json_schema_extra=IMAGES,
    )
    poisoned_count: int | None = Field(
        None,
        ge=1,
        le=1_000_000,
        title="Poisoned images",
        description="how many poisoned images exactly (the paper: 5); empty: the share below",
        json_schema_extra=IMAGES,
    )
    poisoned_fraction: float = Field(
        0.1,
        gt=0,
        le=1,
        title="Poisoned share",
        description="of the retuning set: triggered images labelled as the target",
    )
