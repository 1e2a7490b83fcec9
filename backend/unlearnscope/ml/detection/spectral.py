"""Spectral signatures (Tran, Li & Madry, "Spectral Signatures in Backdoor Attacks",
NeurIPS 2018).

For each class c with penultimate features R_c (n_c x d), centre them,
R̂ = R_c - mean(R_c), take the top right singular vector v of R̂, and score every sample by
its squared projection

    s_i = ((r_i - mean(R_c)) · v)^2

then remove the 1.5 ε n_c highest-scoring samples of each class, ε an upper bound on the
poisoned fraction (the paper's rule; `multiplier` = 1.5). Every class is treated alike:
the method does not need to know the target class.

The histogram shows s_i divided by its class's cut-off (the smallest removed score), so
one line at 1 separates flagged from kept in every class.
"""

from __future__ import annotations

import math

import torch

from .result import Detection, per_class


def spectral_scores(feats: torch.Tensor, labels: torch.Tensor, n_classes: int) -> torch.Tensor:
    """(N,) squared projection of each sample's centred features on its class's top
    singular direction (0 for a class of one sample)."""
    scores = torch.zeros(len(feats), dtype=torch.float64)
    for idx in per_class(labels, n_classes):
        if len(idx) < 2:
            continue
        r = feats[idx].double()
        r = r - r.mean(0, keepdim=True)
        _, _, vh = torch.linalg.svd(r, full_matrices=False)
        scores[idx] = (r @ vh[0]) ** 2
    return scores


def spectral_signatures(
    feats: torch.Tensor,
    labels: torch.Tensor,
    n_classes: int,
    expected_rate: float,
    multiplier: float = 1.5,
) -> Detection:
    """Flag the top `multiplier * expected_rate` of every class by spectral score."""
    raw = spectral_scores(feats, labels, n_classes)
    flagged = torch.zeros(len(feats), dtype=torch.bool)
    shown = torch.zeros(len(feats), dtype=torch.float64)
    removed: list[float] = []
    for idx in per_class(labels, n_classes):
        if len(idx) == 0:
            removed.append(0.0)
            continue
        k = min(len(idx), math.floor(multiplier * expected_rate * len(idx)))
        s = raw[idx]
        if k == 0:
            cut = float(s.max()) * 2 + 1e-12  # nothing removed: everything below 1
        else:
            top = torch.topk(s, k).indices
            flagged[idx[top]] = True
            cut = max(float(s[top].min()), 1e-12)
        shown[idx] = s / cut
        removed.append(float(k))
    return Detection(
        scores=shown.float(),
        flagged=flagged,
        threshold=1.0,
        score_label="spectral score ÷ its class's cut-off",
        rule=f"the top {100 * multiplier * expected_rate:.3g}% of every class "
        f"({multiplier:g} × the expected poison rate {100 * expected_rate:.3g}%)",
        class_stats={"removed": removed},
    )
