"""Settings of `pathguard`, our path-guarded recovery (ml/kinds/pathguard/step.py)."""

from __future__ import annotations

from pydantic import Field

from ..settings import KindSettings


class PathGuardSettings(KindSettings):
    back: float = Field(
        0.5,
        ge=0,
        le=1,
        title="Path reach",
        description="how far back toward the backdoored model (0-1 of the way) the "
        "gradient may be taken; each step draws a point in [0, reach]",
    )
