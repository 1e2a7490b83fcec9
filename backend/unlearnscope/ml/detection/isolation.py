"""Anti-backdoor learning's isolation (Li, Lyu, Koren, Lyu, Li & Ma, "Anti-Backdoor
Learning: Training Clean Models on Poisoned Data", NeurIPS 2021).

ABL observes that a backdoor is learned much faster than the task: early in training the
poisoned samples reach a far lower loss than clean ones. Its first stage trains with the
local gradient ascent loss (LGA),

    L_LGA = sign(CE(f(x), y) - γ) · CE(f(x), y),    γ = 0.5,

which holds clean samples' loss near γ while the backdoor's samples fall below it, for
T_te = 20 epochs, then isolates the fraction p (default 1%) of samples with the lowest
loss:

    flagged = the ⌈p N⌉ samples with the smallest CE(f(x_i), y_i).

Where this differs from the paper: the defender here already has the trained, backdoored
model, so the loss is taken under that model instead of after a fresh LGA training run
(the "given model" variant of the issue); a backdoored model fits its poisoned samples
with near-zero loss, the same ordering the LGA stage produces. The histogram shows
-log10(CE), so the suspicious (low-loss) samples lie to the right.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from .result import Detection

LOSS_FLOOR = 1e-12  # -log10 of a loss is at most 12


def sample_losses(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """(N,) cross-entropy of each sample at its (training) label."""
    return F.cross_entropy(logits.float(), labels, reduction="none")


def abl_isolation(losses: torch.Tensor, ratio: float) -> Detection:
    """Flag the `ratio` share of samples with the lowest loss (at least one)."""
    n = len(losses)
    k = min(n, max(1, math.ceil(ratio * n))) if n else 0
    scores = -torch.log10(losses.double().clamp_min(LOSS_FLOOR))
    flagged = torch.zeros(n, dtype=torch.bool)
    threshold = math.inf
    if k:
        top = torch.topk(scores, k).indices
        flagged[top] = True
        threshold = float(scores[top].min())
    return Detection(
        scores=scores.float(),
        flagged=flagged,
        threshold=threshold,
        score_label="−log₁₀ of the training loss (lower loss → right)",
        rule=f"the {100 * ratio:.3g}% of samples with the lowest loss under the model",
    )
