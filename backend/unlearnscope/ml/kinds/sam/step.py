"""`sam`: FT-SAM (Zhu, Wei, Zha, Wu; ICCV 2023): fine-tuning on the clean set with
sharpness-aware minimisation (Foret, Kleiner, Mobahi, Neyshabur; ICLR 2021).

One step on a clean batch (BatchNorm in train mode, statistics updated by the first pass
only):
    g   = grad L(w)                         L = CE with label smoothing (+ lambda * EWC)
    e   = rho * g / ||g||                   (SAM)
    e   = rho * w^2 * g / ||w * g||          (adaptive, ASAM: Kwon et al., ICML 2021)
    w  <- w - lr * SGD(grad L(w + e))        (the gradient at w+e, the step from w)
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ...augment import augment_batch
from ..protocol import (
    PhaseContext,
    PhaseRun,
    PhaseVisual,
    StepOutcome,
    ewc_term,
    phase_optimizer,
    sample,
)
from .settings import SamSettings


def _bn_frozen(model: nn.Module) -> list[tuple[nn.modules.batchnorm._BatchNorm, float | None]]:
    """Set BatchNorm momentum to 0 (running statistics stay); the old values."""
    saved = []
    for m in model.modules():
        if isinstance(m, nn.modules.batchnorm._BatchNorm):
            saved.append((m, m.momentum))
            m.momentum = 0.0
    return saved


class SamRun:
    def __init__(self, ctx: PhaseContext) -> None:
        self.opt = phase_optimizer(ctx)

    def _loss(
        self, ctx: PhaseContext, x: torch.Tensor, y: torch.Tensor, s: SamSettings
    ) -> tuple[torch.Tensor, torch.Tensor, float]:
        ce = F.cross_entropy(ctx.model(x), y, label_smoothing=s.label_smoothing)
        weighted = ewc_term(ctx)
        penalty = 0.0 if weighted is None else weighted.item()
        return (ce if weighted is None else ce + weighted), ce, penalty

    def step(self, ctx: PhaseContext) -> StepOutcome:
        s = ctx.settings
        assert isinstance(s, SamSettings)
        model = ctx.model
        for group in self.opt.param_groups:
            group["lr"] = ctx.cfg.lr
        x, y = sample(ctx.data.clean, ctx.cfg.batch_size, ctx.gen, ctx.device)
        x = augment_batch(x, ctx.data.augment, ctx.gen)
        params = [p for p in model.parameters() if p.requires_grad]

        model.train()
        objective, ce, _ = self._loss(ctx, x, y, s)
        self.opt.zero_grad(set_to_none=True)
        objective.backward()
        shifts: list[tuple[torch.Tensor, torch.Tensor]] = []
        with torch.no_grad():
            grads: list[tuple[torch.Tensor, torch.Tensor]] = [
                (p, p.grad) for p in params if p.grad is not None
            ]
            scaled = [(w.abs() * g if s.adaptive else g) for w, g in grads]
            norm = torch.linalg.vector_norm(
                torch.stack([torch.linalg.vector_norm(v) for v in scaled])
            )
            for (p, _), v in zip(grads, scaled, strict=True):
                e = (p.abs() if s.adaptive else 1.0) * v * (s.rho / (norm + 1e-12))
                p.add_(e)
                shifts.append((p, e))

        saved = _bn_frozen(model)
        try:
            sharp, ce_sharp, penalty = self._loss(ctx, x, y, s)
            self.opt.zero_grad(set_to_none=True)
            sharp.backward()
        finally:
            for m, momentum in saved:
                m.momentum = momentum
            with torch.no_grad():
                for p, e in shifts:
                    p.sub_(e)  # back to w: the step is taken from w
        max_norm = ctx.cfg.clip_norm if ctx.cfg.clip_norm is not None else float("inf")
        grad_norm = torch.nn.utils.clip_grad_norm_(
            [p for p in params if p.grad is not None], max_norm
        ).item()
        self.opt.step()
        model.eval()
        return StepOutcome(
            sharp.item(),
            ce.item(),
            penalty,
            grad_norm,
            losses={"ce": ce.item(), "ce_at_w_plus_e": ce_sharp.item()},
        )

    def finish(self, ctx: PhaseContext) -> list[PhaseVisual]:
        return []


class Sam:
    def start(self, ctx: PhaseContext) -> PhaseRun:
        return SamRun(ctx)
