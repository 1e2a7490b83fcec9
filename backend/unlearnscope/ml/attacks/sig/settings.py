"""Settings of `sig` (Barni et al., ICIP 2019): x + delta * sin(2 pi j f / m) on every row."""

from __future__ import annotations

from pydantic import Field

from ..settings import AttackSettings


class SigSettings(AttackSettings):
    delta: float = Field(
        20.0,
        gt=0,
        le=255,
        title="Signal amplitude",
        description="delta on the 0-255 scale, training and test",
        json_schema_extra={"unit": "/255"},
    )
    frequency: float = Field(
        6.0, gt=0, le=128, title="Signal frequency", description="periods across the image width"
    )
