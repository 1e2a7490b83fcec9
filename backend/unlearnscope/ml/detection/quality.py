"""How good a detection is, against the truth when the truth is known. For display only:
the engine calls this after a detector has decided, never before, and nothing here reaches
a phase."""

from __future__ import annotations

import math
from typing import Any

import torch

from .result import Detection

BINS = 40


def detection_quality(det: Detection, truth: torch.Tensor) -> dict[str, float]:
    """precision, recall (shares), ROC-AUC of the scores, and the counts behind them;
    `truth` (N,) bool. AUC is nan when the truth holds only one class."""
    flagged, truth = det.flagged, truth.bool()
    hit = int((flagged & truth).sum())
    n_flagged, n_true = int(flagged.sum()), int(truth.sum())
    out = {
        "true_flagged": float(hit),
        "poisoned": float(n_true),
        "precision": hit / n_flagged if n_flagged else math.nan,
        "recall": hit / n_true if n_true else math.nan,
        "auc": math.nan,
    }
    if 0 < n_true < len(truth):
        from sklearn.metrics import roc_auc_score

        out["auc"] = float(roc_auc_score(truth.numpy(), det.scores.double().numpy()))
    return out


def score_histogram(
    scores: torch.Tensor, truth: torch.Tensor | None, bins: int = BINS
) -> dict[str, list[float]]:
    """Bars of the scores: {edges, counts} or, with the truth, {edges, clean, poisoned}."""
    s = scores.double()
    finite = s[torch.isfinite(s)]
    lo, hi = (float(finite.min()), float(finite.max())) if len(finite) else (0.0, 1.0)
    if hi <= lo:
        hi = lo + 1.0
    edges = torch.linspace(lo, hi, bins + 1, dtype=torch.float64)
    clipped = s.nan_to_num(lo).clamp(lo, hi)

    def count(x: torch.Tensor) -> list[float]:
        return torch.histc(x, bins=bins, min=lo, max=hi).tolist()

    values: dict[str, Any] = {"edges": edges.tolist()}
    if truth is None:
        values["counts"] = count(clipped)
    else:
        values["clean"] = count(clipped[~truth.bool()])
        values["poisoned"] = count(clipped[truth.bool()])
    return values
