"""Settings of `ibau`, Implicit Backdoor Adversarial Unlearning (Zeng et al., ICLR 2022).

Defaults from the authors' code (github.com/YiZeng623/I-BAU, defense.py, hypergrad.py):
K = 5 fixed-point iterations for the implicit hypergradient, fixed-point map step 0.1,
inner ascent on delta by SGD with lr 10 and an L2 regulariser 0.001 ||delta||^2, one pass
over the unlearning set (50 batches of 100) for the inner maximisation and one for the
outer minimisation per round, 5 rounds; the outer optimiser Adam with lr 0.001.
The L2 bound 10 is the projection in their code (commented out in the released version);
the outer loss perturbs 1% of each batch (their loss_outer: `portion = 0.01`).
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from ....strict import STEPS
from ..settings import KindSettings


class IbauSettings(KindSettings):
    inner_steps: int = Field(
        50,
        ge=1,
        le=100_000,
        title="Inner steps per round",
        description="gradient-ascent steps on the universal perturbation δ",
        json_schema_extra=STEPS,
    )
    outer_steps: int = Field(
        50,
        ge=1,
        le=100_000,
        title="Outer steps per round",
        description="weight updates with the implicit hypergradient",
        json_schema_extra=STEPS,
    )
    fixed_point_iters: int = Field(
        5, ge=0, le=100, title="K (fixed-point iterations)", description="of the hypergradient"
    )
    fixed_point_lr: float = Field(
        0.1, gt=0, le=100, title="Fixed-point step", description="step of the inner map"
    )
    inner_lr: float = Field(10.0, gt=0, le=1e4, title="δ learning rate")
    delta_reg: float = Field(
        0.001, ge=0, le=1e3, title="δ regulariser", description="weight of ||δ||²"
    )
    norm_bound: float | None = Field(
        10.0,
        gt=0,
        le=1e4,
        title="||δ|| bound",
        description="L2 ball δ is projected on (pixels in [0, 1]); empty: none",
    )
    perturbed_share: float = Field(
        0.01,
        gt=0,
        le=1,
        title="Perturbed share",
        description="of each outer batch that carries δ (at least one image)",
    )
    optimizer: Literal["adam", "sgd"] = Field(
        "adam", title="Outer optimiser", description="adam: as the authors' code"
    )
    visual_every: int = Field(
        5,
        ge=1,
        le=100_000,
        title="Show δ every",
        description="steps between two pictures of δ",
        json_schema_extra=STEPS,
    )
