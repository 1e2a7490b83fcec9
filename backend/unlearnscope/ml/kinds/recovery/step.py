"""`recovery`: fine-tuning on clean data (BatchNorm in train mode).

    objective = CE(f(aug(x_clean)), y) + w * mean(-log(1 - p_target(x_forget)))
                + d * T^2 * KL(f0(aug(x_clean)) / T || f(aug(x_clean)) / T)
                + lambda * EWC

With forget_weight w > 0 an unlikelihood term keeps the target class unlikely on the
forget set, so fine-tuning cannot re-learn the backdoor (it only pushes the target down,
unlike CE ascent, which drags every other class towards uniform). With distill_weight
d > 0 the clean batch is also distilled from f0, the frozen model the run started from: on
clean images the backdoored model is a good teacher, and matching its whole output
distribution holds clean accuracy better than the labels of 5% of the data alone
(T = DISTILL_TEMPERATURE; docs/results.md).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from ...augment import augment_batch
from ..protocol import (
    LossRun,
    PhaseContext,
    PhaseRun,
    sample,
)

DISTILL_TEMPERATURE = 2.0


def unlikelihood(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """mean(-log(1 - p_target)): small once the target class is unlikely; bounded below by 0.

    Computed in log space: log(1 - p_t) = logsumexp(logits without t) - logsumexp(logits).
    """
    is_target = F.one_hot(target, logits.shape[1]).bool()  # (B, K)
    others = torch.logsumexp(logits.masked_fill(is_target, float("-inf")), dim=1)
    return (torch.logsumexp(logits, dim=1) - others).mean()


def distillation(student: torch.Tensor, teacher: torch.Tensor, temperature: float) -> torch.Tensor:
    """T^2 * KL(softmax(teacher / T) || softmax(student / T)), batch mean (Hinton et al.)."""
    log_p = F.log_softmax(student / temperature, dim=1)
    log_q = F.log_softmax(teacher / temperature, dim=1)
    return F.kl_div(log_p, log_q, reduction="batchmean", log_target=True) * temperature**2


def recovery_loss(ctx: PhaseContext) -> tuple[torch.Tensor, torch.Tensor]:
    """(objective without EWC, cross-entropy) on an augmented clean batch."""
    cfg, data = ctx.cfg, ctx.data
    x, y = sample(data.clean, cfg.batch_size, ctx.gen, ctx.device)
    x = augment_batch(x, data.augment, ctx.gen)
    if cfg.forget_weight == 0:
        logits = ctx.model(x)
        objective = ce = F.cross_entropy(logits, y)
    else:
        # One mixed batch, so BatchNorm sees clean and forget images together.
        xf, yf = sample(data.forget, cfg.batch_size, ctx.gen, ctx.device)
        both = ctx.model(torch.cat([x, xf]))
        logits = both[: len(x)]
        ce = F.cross_entropy(logits, y)
        objective = ce + cfg.forget_weight * unlikelihood(both[len(x) :], yf)
    if cfg.distill_weight > 0:
        if data.teacher is None:
            raise RuntimeError("distill_weight > 0 needs PhaseData.teacher")
        with torch.no_grad():
            target = data.teacher(x)
        soft = distillation(logits, target, DISTILL_TEMPERATURE)
        objective = objective + cfg.distill_weight * soft
    return objective, ce


class Recovery:
    def start(self, ctx: PhaseContext) -> PhaseRun:
        return LossRun(ctx, recovery_loss, bn_train=True)
