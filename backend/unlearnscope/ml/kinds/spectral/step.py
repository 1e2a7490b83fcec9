"""`spectral`: spectral signatures over the training set (ml/detection/spectral.py)."""

from __future__ import annotations

from ...detection.result import Detection
from ...detection.spectral import spectral_signatures
from ..detect import DetectionRun, Gathered
from ..protocol import PhaseContext
from .settings import SpectralSettings


def decide(g: Gathered, ctx: PhaseContext) -> Detection:
    s = ctx.settings
    assert isinstance(s, SpectralSettings)
    return spectral_signatures(g.feats, g.labels, g.n_classes, s.expected_rate, s.multiplier)


class Spectral:
    def start(self, ctx: PhaseContext) -> DetectionRun:
        return DetectionRun(ctx, decide)
