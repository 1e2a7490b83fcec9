"""Settings of `anp`, Adversarial Neuron Pruning (Wu & Wang, NeurIPS 2021).

Defaults: the paper's CIFAR-10 setting (and its code, csdongxian/ANP_backdoor
optimize_mask_cifar.py / prune_neuron_cifar.py): perturbation budget eps 0.4, one signed
perturbation step per mask step, trade-off alpha 0.2, pruning threshold 0.2 on the mask.
The masks' SGD takes the phase's lr and momentum (the paper: 0.2 and 0.9, 2000 iterations
of batch 128: the kind's defaults).
"""

from __future__ import annotations

from pydantic import Field

from ..settings import KindSettings


class AnpSettings(KindSettings):
    eps: float = Field(
        0.4,
        ge=0,
        le=1,
        title="ε (perturbation)",
        description="bound of the multiplicative neuron perturbation; 0 = no perturbation",
    )
    anp_steps: int = Field(
        1,
        ge=1,
        le=20,
        title="Perturbation steps",
        description="signed ascent steps on the perturbation per mask step",
    )
    alpha: float = Field(
        0.2,
        ge=0,
        le=1,
        title="α (trade-off)",
        description="weight of the unperturbed loss; 1 - α on the perturbed loss",
    )
    threshold: float = Field(
        0.2,
        ge=0,
        le=1,
        title="Pruning threshold",
        description="neurons whose mask ends below this are pruned",
    )
