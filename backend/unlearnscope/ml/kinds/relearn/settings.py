"""Settings of `relearn`, the retuning attack (RA) of Min et al., NeurIPS 2024
("Uncovering, Explaining, and Mitigating the Superficial Safety of Backdoor Defense").

The attacker fine-tunes the purified model on a small set mixing poisoned (triggered,
target-labelled) and clean images. Our defaults: a set of 1% of the CIFAR-10 training set
(500 images) of which 10% are poisoned (the attack's poison rate), ~5 epochs. These are
our reading of the paper's setting, not copied from its appendix (we could not check it
here): change them to the paper's numbers where they differ.
"""

from __future__ import annotations

from pydantic import Field

from ....strict import IMAGES
from ..settings import KindSettings


class RelearnSettings(KindSettings):
    retune_size: int = Field(
        500,
        ge=2,
        le=1_000_000,
        title="Retuning set",
        description="images in the attacker's fine-tuning set",
        json_schema_extra=IMAGES,
    )
    poisoned_fraction: float = Field(
        0.1,
        gt=0,
        le=1,
        title="Poisoned share",
        description="of the retuning set: triggered images labelled as the target",
    )
