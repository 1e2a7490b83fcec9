"""The clean fine-tuning step the kinds share (fine-pruning's, Neural Cleanse's unlearning
and the retuning attack's): a batch of the phase's data, augmented, optionally changed
(Neural Cleanse stamps its recovered trigger on a share), BatchNorm in train mode,
cross-entropy, one `sgd_step`.

    objective = CE(f(t(aug(x))), y) + lambda * EWC
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F

from ..augment import augment_batch
from ..imageset import ImageSet
from .protocol import PhaseContext, StepOutcome, sample, sgd_step


def finetune_step(
    ctx: PhaseContext,
    opt: torch.optim.Optimizer,
    data: ImageSet | None = None,
    augment: bool = True,
    change: Callable[[torch.Tensor], torch.Tensor] | None = None,
) -> StepOutcome:
    """One CE fine-tuning step on `data` (default: the clean set); `change` maps the
    (augmented) batch (B, 3, H, W) before the forward pass. Losses: {"ce": ...}."""
    x, y = sample(ctx.data.clean if data is None else data, ctx.cfg.batch_size, ctx.gen, ctx.device)
    if augment:
        x = augment_batch(x, ctx.data.augment, ctx.gen)
    if change is not None:
        x = change(x)
    ctx.model.train()
    ce = F.cross_entropy(ctx.model(x), y)
    grad_norm = sgd_step(ctx, opt, ce)
    return StepOutcome(
        ce.item() + ctx.penalty, ce.item(), ctx.penalty, grad_norm, losses={"ce": ce.item()}
    )
