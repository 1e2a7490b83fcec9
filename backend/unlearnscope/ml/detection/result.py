"""`Detection`: what a detector decided about every sample of the training set."""

from __future__ import annotations

from dataclasses import dataclass, field

import torch


@dataclass
class Detection:
    scores: torch.Tensor  # (N,) float: higher is more suspicious (what the histogram shows)
    flagged: torch.Tensor  # (N,) bool: the samples it calls poisoned (the forget set)
    # The cut on `scores` when one cut decides for every sample (flagged == scores >= it);
    # None when the decision is per class (a class is judged first, then its samples).
    threshold: float | None
    score_label: str  # what the score is, for the histogram's axis
    rule: str  # one line for people: how it decided
    # Per-class numbers behind the decision (e.g. silhouette, anomaly index), one per class.
    class_stats: dict[str, list[float]] = field(default_factory=dict)
    suspect_classes: list[int] = field(default_factory=list)  # classes judged poisoned
    # A detector that judges classes first: which class statistic, its cut, and on which
    # side a class counts as poisoned ("above" | "below"); None for per-sample detectors.
    class_rule: tuple[str, float, str] | None = None

    @property
    def flagged_idx(self) -> torch.Tensor:
        """(k,) int64 indices of the flagged samples, most suspicious first."""
        idx = torch.nonzero(self.flagged).flatten()
        return idx[torch.argsort(self.scores[idx], descending=True, stable=True)]


def per_class(labels: torch.Tensor, n_classes: int) -> list[torch.Tensor]:
    """The indices of each class's samples (empty tensors for absent classes)."""
    return [torch.nonzero(labels == c).flatten() for c in range(n_classes)]
