"""A step whose gradient is taken on the backdoor-connected path: at w + e, a point between
the current weights w and the backdoored model w0 (the run's start, PhaseData.teacher),
the step itself taken from w. Shared by `pam` (e = rho (w0 - w) / ||w0 - w||, Min et al.,
NeurIPS 2024) and our `pathguard` (e = u (w0 - w), u drawn in [0, back] every step).

    g  = grad L(w + e)          (L + lambda * EWC, BatchNorm as the loss puts it)
    w <- w - lr * SGD-momentum(clip(g))
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch

from .protocol import PhaseContext, StepOutcome, ewc_term


def path_shift(
    params: Sequence[torch.Tensor], start: Sequence[torch.Tensor], rho: float
) -> tuple[list[torch.Tensor], float]:
    """(e = rho * (w0 - w) / ||w0 - w|| per parameter (zeros where w = w0), ||w0 - w||)."""
    diffs = [s - p for p, s in zip(params, start, strict=True)]
    norm = torch.linalg.vector_norm(torch.stack([torch.linalg.vector_norm(d) for d in diffs]))
    return [d * (rho / (norm + 1e-12)) for d in diffs], norm.item()


class OnPath:
    """The trainable parameters w, the backdoored ones w0 and the phase's SGD."""

    def __init__(self, ctx: PhaseContext, opt: torch.optim.Optimizer) -> None:
        if ctx.data.teacher is None:
            raise ValueError("this phase needs the backdoored model the run started from")
        self.opt = opt
        self.params = [p for p in ctx.model.parameters() if p.requires_grad]
        ids = {id(p) for p in self.params}
        self.start = [
            s.detach()
            for p, s in zip(ctx.model.parameters(), ctx.data.teacher.parameters(), strict=True)
            if id(p) in ids
        ]

    def distance(self) -> float:
        """||w0 - w||."""
        with torch.no_grad():
            return path_shift(self.params, self.start, 1.0)[1]

    def step(
        self,
        ctx: PhaseContext,
        shift: Sequence[torch.Tensor],
        loss: Callable[[], tuple[torch.Tensor, torch.Tensor]],
        losses: dict[str, float],
    ) -> StepOutcome:
        """Move to w + shift, take the gradient of `loss()` (objective, CE) there, come
        back to w and step. `losses` are reported with the step."""
        for group in self.opt.param_groups:
            group["lr"] = ctx.cfg.lr
        with torch.no_grad():
            for p, e in zip(self.params, shift, strict=True):
                p.add_(e)
        weighted = None
        try:
            objective, ce = loss()
            weighted = ewc_term(ctx)
            if weighted is not None:
                objective = objective + weighted
            self.opt.zero_grad(set_to_none=True)
            objective.backward()
        finally:
            with torch.no_grad():
                for p, e in zip(self.params, shift, strict=True):
                    p.sub_(e)  # back to w: the step is taken from w
        max_norm = ctx.cfg.clip_norm if ctx.cfg.clip_norm is not None else float("inf")
        grad_norm = torch.nn.utils.clip_grad_norm_(
            [p for p in self.params if p.grad is not None], max_norm
        ).item()
        self.opt.step()
        ctx.model.eval()
        penalty = 0.0 if weighted is None else weighted.item()
        return StepOutcome(objective.item(), ce.item(), penalty, grad_norm, losses=losses)
