"""Settings of `sam`, FT-SAM (Zhu et al., ICCV 2023): clean fine-tuning with
sharpness-aware minimisation (Foret et al., ICLR 2021).

Defaults from BackdoorBench's FT-SAM CIFAR-10 config (config/defense/ft-sam/cifar10.yaml):
rho 2.0, label smoothing 0.1 (lr 0.01, batch 256, 5% clean data). A radius of 2 only makes
sense for the adaptive variant (ASAM, Kwon et al., ICML 2021: the perturbation is scaled by
|w|), so `adaptive` defaults to true; Foret's SAM is adaptive=false with rho ~0.05.
"""

from __future__ import annotations

from pydantic import Field

from ..settings import KindSettings


class SamSettings(KindSettings):
    rho: float = Field(
        2.0,
        gt=0,
        le=100,
        title="ρ (radius)",
        description="neighbourhood radius of the weight perturbation",
    )
    adaptive: bool = Field(
        True,
        title="Adaptive (ASAM)",
        description="scale the perturbation by |w| per weight",
    )
    label_smoothing: float = Field(
        0.1, ge=0, lt=1, title="Label smoothing", description="of the clean cross-entropy"
    )
