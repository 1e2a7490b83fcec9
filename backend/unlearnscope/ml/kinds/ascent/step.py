"""`ascent`: gradient *ascent* on the forget set, bounded by the clamp.

    objective = -min(CE(f(x_forget), y_target), loss_clamp) + lambda * EWC

The clamp's gradient is zero once a batch's CE reaches it. BatchNorm stays in eval mode,
so the running statistics are not dragged towards triggered images.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from ..protocol import (
    LossRun,
    PhaseContext,
    PhaseRun,
    sample,
)


def ascent_loss(ctx: PhaseContext) -> tuple[torch.Tensor, torch.Tensor]:
    """(objective without EWC, cross-entropy) on a forget-set batch."""
    x, y = sample(ctx.data.forget, ctx.cfg.batch_size, ctx.gen, ctx.device)
    ce = F.cross_entropy(ctx.model(x), y)
    clamp = ctx.cfg.loss_clamp
    return -(ce if clamp is None else torch.clamp(ce, max=clamp)), ce


class Ascent:
    def start(self, ctx: PhaseContext) -> PhaseRun:
        # BatchNorm in eval mode: its statistics stay the backdoored model's
        return LossRun(ctx, ascent_loss, bn_train=False)
