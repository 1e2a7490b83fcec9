"""Settings of `pam`, Path-Aware Minimization (Min, Qin, Zhang, Shen, Cheng; NeurIPS 2024,
"Uncovering, Explaining, and Mitigating the Superficial Safety of Backdoor Defense").

Defaults from the authors' fine_tune/BTIDBF/defense.sh and btidbfu.py: rho 0.5, 20% of each
batch stamped with the reversed trigger.
"""

from __future__ import annotations

from pydantic import Field

from ..settings import KindSettings


class PamSettings(KindSettings):
    rho: float = Field(
        0.5,
        ge=0,
        le=100,
        title="ρ (path step)",
        description="distance the gradient is taken at, toward the backdoored model",
    )
    reversed_share: float = Field(
        0.2,
        ge=0,
        le=1,
        title="Reversed share",
        description="of each batch: stamped with a recovered trigger, kept at true labels",
    )
