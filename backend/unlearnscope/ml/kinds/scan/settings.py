"""Settings of `scan`, SCAn (Tang et al., USENIX Security 2021): a class is contaminated
when the anomaly index of its two-subgroup statistic exceeds e² ≈ 7.389 (the paper's)."""

from __future__ import annotations

import math

from pydantic import Field

from ..settings import KindSettings


class ScanSettings(KindSettings):
    threshold: float = Field(
        math.exp(2),
        gt=0,
        le=1000,
        title="Anomaly threshold",
        description="a class whose statistic's anomaly index exceeds this is poisoned",
    )
