"""`scan`: SCAn over the training set, its global model from the clean set
(ml/detection/scan.py)."""

from __future__ import annotations

from ...detection.result import Detection
from ...detection.scan import scan
from ..detect import DetectionRun, Gathered, clean_features
from ..protocol import PhaseContext
from .settings import ScanSettings


def decide(g: Gathered, ctx: PhaseContext) -> Detection:
    s = ctx.settings
    assert isinstance(s, ScanSettings)
    clean_feats, clean_labels = clean_features(ctx)
    seed = int(ctx.gen.initial_seed() % (2**31))
    return scan(g.feats, g.labels, clean_feats, clean_labels, g.n_classes, s.threshold, seed=seed)


class Scan:
    def start(self, ctx: PhaseContext) -> DetectionRun:
        return DetectionRun(ctx, decide)
