"""Settings of `ep`, exact purification (the oracle reference of Min et al., NeurIPS 2023
"Towards Stable Backdoor Purification through Feature Shift Tuning" and NeurIPS 2024).
"""

from __future__ import annotations

from pydantic import Field

from ..settings import KindSettings


class EpSettings(KindSettings):
    poisoned_share: float = Field(
        0.2,
        gt=0,
        le=1,
        title="Poisoned share",
        description="of each batch: truly poisoned samples, relabelled to their true classes",
    )
