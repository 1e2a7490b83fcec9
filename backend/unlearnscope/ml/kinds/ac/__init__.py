"""`ac`: activation clustering (Chen et al., 2018), a detection phase: per class, reduce
the penultimate activations to 10 dimensions, split them with 2-means, and flag the smaller
cluster where its relative size and the silhouette say it is poison
(ml/detection/clustering.py)."""

from __future__ import annotations

from ..kind import DETECTION_DEFAULTS, PhaseKind

KIND = PhaseKind(
    label="Activation clustering (detect)",
    description="Detection (Chen et al., 2018): per class, reduce the penultimate "
    "activations to 10 dimensions and split them with 2-means; where the smaller cluster "
    "is small (relative size) and well separated (silhouette), its samples become the "
    "forget set of the later phases. The model is not changed.",
    step="unlearnscope.ml.kinds.ac.step:ActivationClustering",
    uses_forget_set=False,
    finds_forget_set=True,
    settings="unlearnscope.ml.kinds.ac.settings:ActivationClusteringSettings",
    defaults=DETECTION_DEFAULTS,  # no training: the steps split the search
    order=96,
)
