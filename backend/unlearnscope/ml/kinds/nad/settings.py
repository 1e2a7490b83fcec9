"""Settings of `nad`, Neural Attention Distillation (Li et al., ICLR 2021).

Defaults from the authors' code (github.com/bboylyg/NAD, config.py): attention maps with
p = 2, beta 5000 on the last (high) layer group and 0 on the two lower groups, teacher
fine-tuned for 10 epochs on 5% of CIFAR-10 (2500 images, batch 64: ~400 steps).
BackdoorBench's NAD config uses 500 / 1000 / 1000 on PreAct-ResNet18's layer2-4.
"""

from __future__ import annotations

from pydantic import Field

from ....strict import STEPS
from ..settings import KindSettings


class NadSettings(KindSettings):
    teacher_steps: int = Field(
        400,
        ge=0,
        le=100_000,
        title="Teacher steps",
        description="clean fine-tuning steps of the teacher at the phase start (counted in "
        "the phase's steps); 0 = the model as the phase starts is the teacher",
        json_schema_extra=STEPS,
    )
    beta_high: float = Field(
        5000.0,
        ge=0,
        le=1e7,
        title="β last stage",
        description="attention-distillation weight on the last conv stage",
    )
    beta_mid: float = Field(
        0.0, ge=0, le=1e7, title="β middle stage", description="on the stage before it"
    )
    beta_low: float = Field(
        0.0, ge=0, le=1e7, title="β low stage", description="on the stage before that"
    )
    p: float = Field(
        2.0, ge=1, le=8, title="Attention power p", description="attention map: Σ_c |A_c|^p"
    )
