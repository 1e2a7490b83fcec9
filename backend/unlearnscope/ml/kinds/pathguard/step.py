"""`pathguard`: path-guarded recovery, ours (docs/defences.md has the reasoning).

What the path view showed: after ascent + recovery the backdoor is gone at the purified
model (alpha 1) but ASR climbs back within a short distance toward the backdoored model
(alpha 0.4-0.6 on the demo), and the retuning attack walks that distance. PAM (Min et
al., NeurIPS 2024) takes the gradient at one point a fixed distance back; we take it at a
random point of the segment w + u (w0 - w), u ~ U(0, back), every step, with the
recovery objective (clean CE plus the unlikelihood of the target on the forget set,
ml/kinds/recovery/step.py), so the target stays unlikely on triggered images along the
whole segment near the model, not only at its end:

    u ~ U(0, back);  e = u (w0 - w)
    w <- w - lr * SGD-momentum( grad [CE(clean) + fw * mean(-log(1 - p_target(forget)))](w + e) )
"""

from __future__ import annotations

import torch

from ..onpath import OnPath
from ..protocol import PhaseContext, PhaseRun, PhaseVisual, StepOutcome, phase_optimizer
from ..recovery.step import recovery_loss
from .settings import PathGuardSettings


class PathGuardRun:
    def __init__(self, ctx: PhaseContext) -> None:
        self.path = OnPath(ctx, phase_optimizer(ctx))

    def step(self, ctx: PhaseContext) -> StepOutcome:
        s = ctx.settings
        assert isinstance(s, PathGuardSettings)
        u = torch.rand((), generator=ctx.gen).item() * s.back
        with torch.no_grad():
            shift = [u * (w0 - w) for w, w0 in zip(self.path.params, self.path.start, strict=True)]

        def loss() -> tuple[torch.Tensor, torch.Tensor]:
            ctx.model.train()
            return recovery_loss(ctx)

        return self.path.step(ctx, shift, loss, {"u": u, "distance": self.path.distance()})

    def finish(self, ctx: PhaseContext) -> list[PhaseVisual]:
        return []


class PathGuard:
    def start(self, ctx: PhaseContext) -> PhaseRun:
        return PathGuardRun(ctx)
