"""`ep`: exact purification (EP), the oracle reference of Min, Qin, Shen, Cheng (NeurIPS
2023) and Min et al. (NeurIPS 2024): fine-tuning that knows which training samples are
poisoned and what their true classes are.

Every step: a clean batch (augmented) with a share `poisoned_share` replaced by truly
poisoned samples (the attacker's own, PhaseData.attack_samples, not augmented: a flip
would move a patch trigger) at their true classes (PhaseData.attack_true_labels):

    L = CE(f([x_clean; x_poisoned]), [y; y_true]) (+ lambda * EWC),  one SGD step

No real defender has these labels: EP is the bound a defence is measured against, and it
is labelled as an oracle wherever it appears.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from ...augment import augment_batch
from ...imageset import ImageSet
from ..protocol import (
    PhaseContext,
    PhaseData,
    PhaseRun,
    PhaseVisual,
    StepOutcome,
    phase_optimizer,
    sample,
    sgd_step,
)
from .settings import EpSettings


def relabelled(data: PhaseData) -> ImageSet:
    """The truly poisoned samples at their true classes; ValueError where unknown."""
    own, labels = data.attack_samples, data.attack_true_labels
    if own is None or labels is None or len(own) == 0:
        raise ValueError(
            "ep (exact purification) is an oracle: it needs the truly poisoned training "
            "samples and their true classes, which only a backdoor planted here (or a "
            "BackdoorBench file that lists them) gives"
        )
    return ImageSet(own.images, labels, list(own.classes))


class EpRun:
    def __init__(self, ctx: PhaseContext) -> None:
        self.poisoned = relabelled(ctx.data)
        self.opt = phase_optimizer(ctx)

    def step(self, ctx: PhaseContext) -> StepOutcome:
        s = ctx.settings
        assert isinstance(s, EpSettings)
        n_poison = max(1, round(s.poisoned_share * ctx.cfg.batch_size))
        n_clean = max(0, ctx.cfg.batch_size - n_poison)
        xc, yc = sample(ctx.data.clean, n_clean, ctx.gen, ctx.device)
        xc = augment_batch(xc, ctx.data.augment, ctx.gen)
        xp, yp = sample(self.poisoned, n_poison, ctx.gen, ctx.device)
        x, y = torch.cat([xc[:n_clean], xp]), torch.cat([yc[:n_clean], yp])
        ctx.model.train()
        ce = F.cross_entropy(ctx.model(x), y)
        grad_norm = sgd_step(ctx, self.opt, ce)
        return StepOutcome(
            ce.item() + ctx.penalty, ce.item(), ctx.penalty, grad_norm, losses={"ce": ce.item()}
        )

    def finish(self, ctx: PhaseContext) -> list[PhaseVisual]:
        return []


class Ep:
    def start(self, ctx: PhaseContext) -> PhaseRun:
        return EpRun(ctx)
