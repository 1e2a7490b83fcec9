"""`abl`: ABL's isolation over the training set (ml/detection/isolation.py)."""

from __future__ import annotations

from ...detection.isolation import abl_isolation, sample_losses
from ...detection.result import Detection
from ..detect import DetectionRun, Gathered
from ..protocol import PhaseContext
from .settings import AblSettings


def decide(g: Gathered, ctx: PhaseContext) -> Detection:
    s = ctx.settings
    assert isinstance(s, AblSettings)
    return abl_isolation(sample_losses(g.logits, g.labels), s.isolation_ratio)


class AblIsolation:
    def start(self, ctx: PhaseContext) -> DetectionRun:
        return DetectionRun(ctx, decide)
