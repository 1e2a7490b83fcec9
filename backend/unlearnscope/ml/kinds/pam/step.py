"""`pam`: Path-Aware Minimization (Min, Qin, Zhang, Shen, Cheng; NeurIPS 2024, "Uncovering,
Explaining, and Mitigating the Superficial Safety of Backdoor Defense"), as the authors'
fine_tune/BTIDBF/sam.py (class PAM) and btidbfu.py (unlearn_pam) do it.

With w0 the backdoored model (the run's start, PhaseData.teacher) and w the current one,
one step on a batch B:

    d  = w0 - w                                the backdoor-connected path, back
    e  = rho * d / ||d||                        (e = 0 at the first step, where w = w0)
    g  = grad L(w + e; B)                       L = CE (+ lambda * EWC)
    w <- w - lr * SGD-momentum(g)               (the step is taken from w)

Minimising the loss a distance rho back toward the backdoored model pushes the solution
off the low-loss path that leads back to it: the superficial safety the paper explains is
that path. B is a clean batch in which a share `reversed_share` is stamped with a trigger
an earlier phase of the run recovered (Neural Cleanse: PhaseData.recovered), at their true
labels; the authors use BTI-DBF's generated backdoor images there. Without a recovered
trigger the batch is all clean. Parameters only are perturbed (BatchNorm statistics are
updated by the forward pass at w + e, as in the authors' code).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from ...augment import augment_batch
from ..onpath import OnPath, path_shift
from ..protocol import (
    FoundTrigger,
    PhaseContext,
    PhaseRun,
    PhaseVisual,
    StepOutcome,
    phase_optimizer,
    sample,
)
from .settings import PamSettings

__all__ = ["Pam", "path_shift", "stamp"]


def stamp(x: torch.Tensor, found: FoundTrigger) -> torch.Tensor:
    """(1 - m) x + m p with a recovered trigger, on float [0, 1] images."""
    m = found.mask.to(x)
    return (1 - m) * x + m * found.pattern.to(x)


class PamRun:
    def __init__(self, ctx: PhaseContext) -> None:
        self.path = OnPath(ctx, phase_optimizer(ctx))

    def step(self, ctx: PhaseContext) -> StepOutcome:
        s = ctx.settings
        assert isinstance(s, PamSettings)
        x, y = sample(ctx.data.clean, ctx.cfg.batch_size, ctx.gen, ctx.device)
        x = augment_batch(x, ctx.data.augment, ctx.gen)
        found = ctx.data.recovered
        n_rev = round(s.reversed_share * len(x)) if found is not None else 0
        if found is not None and n_rev > 0:
            x = torch.cat([stamp(x[:n_rev], found), x[n_rev:]])
        with torch.no_grad():
            shift, distance = path_shift(self.path.params, self.path.start, s.rho)

        def loss() -> tuple[torch.Tensor, torch.Tensor]:
            ctx.model.train()
            ce = F.cross_entropy(ctx.model(x), y)
            return ce, ce

        out = self.path.step(ctx, shift, loss, {"distance": distance})
        out.losses["ce_on_path"] = out.ce
        return out

    def finish(self, ctx: PhaseContext) -> list[PhaseVisual]:
        return []


class Pam:
    def start(self, ctx: PhaseContext) -> PhaseRun:
        return PamRun(ctx)
