"""`ac`: activation clustering over the training set (ml/detection/clustering.py)."""

from __future__ import annotations

from ...detection.clustering import activation_clustering
from ...detection.result import Detection
from ..detect import DetectionRun, Gathered
from ..protocol import PhaseContext
from .settings import ActivationClusteringSettings


def decide(g: Gathered, ctx: PhaseContext) -> Detection:
    s = ctx.settings
    assert isinstance(s, ActivationClusteringSettings)
    seed = int(ctx.gen.initial_seed() % (2**31))
    return activation_clustering(
        g.feats,
        g.labels,
        g.n_classes,
        dims=s.dims,
        method=s.method,
        size_threshold=s.size_threshold,
        silhouette_threshold=s.silhouette_threshold,
        seed=seed,
    )


class ActivationClustering:
    def start(self, ctx: PhaseContext) -> DetectionRun:
        return DetectionRun(ctx, decide)
