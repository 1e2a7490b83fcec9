"""SCAn, statistical contamination analysis (Tang, Wang, Tang & Zhang, "Demon in the
Variant: Statistical Analysis of DNNs for Robust Backdoor Contamination Detection", USENIX
Security 2021). Written after the authors' reference code (TDteach/Demon-in-the-Variant,
SCAn.py), vectorised.

Representations r (penultimate features) are modelled as r = μ_c + ε, an identity part
μ_c ~ N(0, S_μ) per class and a variation part ε ~ N(0, S_ε) shared by all classes.

1. Global model, from the defender's trusted clean set: estimate S_μ and S_ε by EM
   (the paper's "untangling"): with F = S_ε⁻¹ and G_c = -(n_c S_μ + S_ε)⁻¹ S_μ F,
       μ_c = -S_ε G_c Σ_{i∈c} r_i,    ε_i = r_i - μ_{c(i)},
       S_μ = cov(μ_{c(i)}),  S_ε = cov(ε_i),   until both change by < 1e-5.
2. Local model, on the training set: split each class into two subgroups by EM (means
   u₁, u₂; r_i joins subgroup 1 when u₁ᵀF u₁ - u₂ᵀF u₂ - 2 r_iᵀF (u₁ - u₂) < 0), and
   compute the log-likelihood-ratio statistic of "two subgroups" against "one":
       J_c = (1/n) [ n₁ (μᵀFμ - u₁ᵀFu₁) + n₂ (μᵀFμ - u₂ᵀFu₂)
                    - 2 Σ_i r_iᵀ F (μ - u_{g(i)}) ],   μ = -S_ε G Σ_i r_i (G with n).
3. A class is contaminated when its J is an outlier: with y_c = J_c / max_c J_c, the
   anomaly index (y_c - median y) / (1.4826 MAD y) exceeds e² ≈ 7.39 (the paper's
   threshold). The samples of its subgroup farther from the class's clean samples are
   flagged: with m_c the mean of class c in the trusted clean set, the subgroup g with the
   larger (u_g - m_c)ᵀ F (u_g - m_c) (the smaller subgroup where the clean set has none of
   the class).

Where this differs: the reference code takes the absolute deviation; a class with an
abnormally *low* J has no second subgroup, so only high J counts here. The reference
splits from a random start; ours is seeded. The paper does not say which subgroup is the
poison; taking the smaller one fails where the poison is half the target class (10% of a
10-class training set relabelled to one class): on the demo model it flagged the 600 clean
samples of the target class and none of its 600 poisoned ones. The clean set decides.

Each sample's score for the histogram is its discriminant towards the flagged (poison)
subgroup, scaled by its class's spread (> 0: in it).
"""

from __future__ import annotations

import math

import torch

from .result import Detection, per_class

EPS = 1e-5
MAX_ITERS = 100
THRESHOLD = math.exp(2)


def _cov(x: torch.Tensor) -> torch.Tensor:
    """Covariance of the rows of x (n, d), unbiased (numpy's np.cov(x.T))."""
    x = x - x.mean(0, keepdim=True)
    return (x.T @ x) / max(1, len(x) - 1)


def global_model(
    reprs: torch.Tensor, labels: torch.Tensor, n_classes: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """(S_μ, S_ε) from representations of clean samples with their labels, by EM."""
    x = reprs.double() - reprs.double().mean(0, keepdim=True)
    groups = [g for g in per_class(labels, n_classes) if len(g)]
    counts = torch.tensor([len(g) for g in groups], dtype=torch.float64)
    sums = torch.stack([x[g].sum(0) for g in groups])  # (L, d)
    means = sums / counts[:, None]
    owner = torch.empty(len(x), dtype=torch.long)
    for j, g in enumerate(groups):
        owner[g] = j
    su, se = _cov(means[owner]), _cov(x - means[owner])
    for _ in range(MAX_ITERS):
        f = torch.linalg.pinv(se)
        suf = su @ f
        um = torch.stack(
            [
                -(se @ (-torch.linalg.pinv(n * su + se) @ suf)) @ s
                for n, s in zip(counts.tolist(), sums, strict=True)
            ]
        )  # (L, d)
        new_su, new_se = _cov(um[owner]), _cov(x - um[owner])
        change = torch.linalg.norm(new_su - su) + torch.linalg.norm(new_se - se)
        su, se = new_su, new_se
        if change < EPS:
            break
    return su, se


def find_split(x: torch.Tensor, f: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
    """(n,) bool subgroup-1 membership of one class's centred representations, by EM."""
    n = len(x)
    subg = torch.rand(n, generator=gen, dtype=torch.float64) >= 0.5
    if n < 2:
        return torch.zeros(n, dtype=torch.bool)
    if subg.all():
        subg[0] = False
    if not subg.any():
        subg[0] = True
    for _ in range(MAX_ITERS):
        u1, u2 = x[subg].mean(0), x[~subg].mean(0)
        bias = u1 @ f @ u1 - u2 @ f @ u2
        delta = x @ (f @ (u1 - u2))  # (n,)
        new = (bias - 2 * delta) < 0
        if torch.equal(new, subg) or new.all() or not new.any():
            break
        subg = new
    return subg


def split_statistic(
    x: torch.Tensor, subg: torch.Tensor, su: torch.Tensor, se: torch.Tensor, f: torch.Tensor
) -> float:
    """J of one class: the log-likelihood ratio of its two-subgroup model against one."""
    n = len(x)
    if n < 2 or subg.all() or not subg.any():
        return 0.0
    g = -torch.linalg.pinv(n * su + se)
    mu = -(se @ g) @ x.sum(0)
    u1, u2 = x[subg].mean(0), x[~subg].mean(0)
    n1 = int(subg.sum())
    n2 = n - n1
    mfm = mu @ f @ mu
    sc = n1 * (mfm - u1 @ f @ u1) + n2 * (mfm - u2 @ f @ u2)
    u = torch.where(subg[:, None], u1, u2)  # (n, d)
    sc = sc - 2 * ((x @ f) * (mu[None, :] - u)).sum()
    return float(sc) / n


def _poison_side(
    x: torch.Tensor, subg: torch.Tensor, clean: torch.Tensor, f: torch.Tensor
) -> torch.Tensor:
    """(n,) bool: the subgroup whose mean lies farther (in F's metric) from the class's
    clean samples' mean; the smaller subgroup where the clean set has none of the class."""
    if len(x) < 2 or subg.all() or not subg.any():
        return torch.zeros(len(x), dtype=torch.bool)
    if len(clean) == 0:
        return subg if int(subg.sum()) <= len(x) - int(subg.sum()) else ~subg
    m = clean.mean(0)
    d1, d2 = x[subg].mean(0) - m, x[~subg].mean(0) - m
    return subg if float(d1 @ f @ d1) >= float(d2 @ f @ d2) else ~subg


def anomaly_index(values: list[float]) -> list[float]:
    """(y - median) / (1.4826 MAD) of y = values / max(values), one-sided (high)."""
    v = torch.tensor(values, dtype=torch.float64)
    y = v / max(float(v.abs().max()), 1e-12)
    med = y.median()
    mad = (y - med).abs().median() * 1.4826
    return ((y - med) / max(float(mad), 1e-12)).tolist()


def scan(
    feats: torch.Tensor,
    labels: torch.Tensor,
    clean_feats: torch.Tensor,
    clean_labels: torch.Tensor,
    n_classes: int,
    threshold: float = THRESHOLD,
    seed: int = 0,
) -> Detection:
    """Flag the smaller subgroup of every class whose two-subgroup statistic J is an
    outlier (anomaly index > `threshold`)."""
    su, se = global_model(clean_feats, clean_labels, n_classes)
    f = torch.linalg.pinv(se)
    offset = feats.double().mean(0, keepdim=True)
    x_all = feats.double() - offset
    clean_x = clean_feats.double() - offset
    gen = torch.Generator().manual_seed(seed)
    scores = torch.zeros(len(feats), dtype=torch.float64)
    poison: list[torch.Tensor] = []
    js: list[float] = []
    for c, idx in enumerate(per_class(labels, n_classes)):
        x = x_all[idx]
        subg = find_split(x, f, gen)
        js.append(split_statistic(x, subg, su, se, f))
        bad = _poison_side(x, subg, clean_x[clean_labels == c], f)
        poison.append(idx[bad])
        if len(x) >= 2 and bad.any() and (~bad).any():
            ub, ug = x[bad].mean(0), x[~bad].mean(0)
            disc = 2 * (x @ (f @ (ub - ug))) - (ub @ f @ ub - ug @ f @ ug)  # > 0: poison side
            scores[idx] = disc / max(float(disc.std()), 1e-12)
    ai = anomaly_index(js) if js else []
    suspects = [c for c, a in enumerate(ai) if a > threshold]
    flagged = torch.zeros(len(feats), dtype=torch.bool)
    for c in suspects:
        flagged[poison[c]] = True
    return Detection(
        scores=scores.float(),
        flagged=flagged,
        threshold=None,
        score_label="discriminant towards its class's suspicious subgroup (> 0: in it)",
        rule=f"the subgroup farther from the clean samples, in classes whose J anomaly "
        f"index is > {threshold:.3g}",
        class_stats={"J": js, "anomaly_index": ai},
        suspect_classes=suspects,
        class_rule=("anomaly_index", threshold, "above"),
    )
