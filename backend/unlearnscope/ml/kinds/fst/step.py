"""`fst`: Feature Shift Tuning (Min, Qin, Shen, Cheng; NeurIPS 2023), the `fst` mode of the
authors' fine_tune/ft.py.

At the phase's start the classifier head (the final Linear layer, weight W and bias b) is
re-initialised, W, b ~ U(-1/sqrt(d), 1/sqrt(d)) with d its input width, and the original
weight W0 and its norm are kept. Every step, on an augmented clean batch with BatchNorm in
train mode:

    L = CE(f(x), y) + alpha * <W, W0>          (<.,.>: sum of the elementwise product)
    w <- SGD-momentum step of L (+ lambda * EWC), lr * (1 + cos(pi t / T)) / 2 (cosine)
    W <- W * ||W0|| / ||W||                    (the head keeps the original norm)

Minimising <W, W0> turns the new head away from the backdoored one, so the features must
shift for the clean task to be solved again: the backdoor features the old head read lose
their use.
"""

from __future__ import annotations

import dataclasses
import math

import torch
import torch.nn.functional as F

from ...augment import augment_batch
from ...features import classifier_layer
from ..protocol import (
    PhaseContext,
    PhaseRun,
    PhaseVisual,
    StepOutcome,
    phase_optimizer,
    sample,
    sgd_step,
)
from .settings import FstSettings


def reinit_head(head: torch.nn.Linear, gen: torch.Generator) -> None:
    """W and b ~ U(-1/sqrt(d), 1/sqrt(d)), d = the head's input width (as ft.py)."""
    bound = 1.0 / math.sqrt(head.in_features)
    with torch.no_grad():
        w = torch.rand(head.weight.shape, generator=gen) * 2 * bound - bound
        head.weight.copy_(w.to(head.weight))
        if head.bias is not None:
            b = torch.rand(head.bias.shape, generator=gen) * 2 * bound - bound
            head.bias.copy_(b.to(head.bias))


def alignment(head: torch.nn.Linear, original: torch.Tensor) -> torch.Tensor:
    """<W, W0>: the penalty FST minimises."""
    return (head.weight * original).sum()


def cosine_lr(lr: float, t: int, total: int) -> float:
    """lr * (1 + cos(pi t / T)) / 2 at step t of T."""
    return lr * 0.5 * (1.0 + math.cos(math.pi * min(t, total) / max(1, total)))


class FstRun:
    def __init__(self, ctx: PhaseContext) -> None:
        self.head = classifier_layer(ctx.model)
        self.original = self.head.weight.detach().clone()
        self.norm = torch.linalg.vector_norm(self.original)
        reinit_head(self.head, ctx.gen)
        self.opt = phase_optimizer(ctx)

    def step(self, ctx: PhaseContext) -> StepOutcome:
        s = ctx.settings
        assert isinstance(s, FstSettings)
        if s.cosine:
            lr = cosine_lr(ctx.cfg.lr, ctx.phase_step, ctx.cfg.steps)
            ctx = dataclasses.replace(ctx, cfg=ctx.cfg.model_copy(update={"lr": lr}))
        x, y = sample(ctx.data.clean, ctx.cfg.batch_size, ctx.gen, ctx.device)
        x = augment_batch(x, ctx.data.augment, ctx.gen)
        ctx.model.train()
        ce = F.cross_entropy(ctx.model(x), y)
        align = alignment(self.head, self.original)
        objective = ce + s.alpha * align
        grad_norm = sgd_step(ctx, self.opt, objective)
        with torch.no_grad():
            self.head.weight.mul_(self.norm / torch.linalg.vector_norm(self.head.weight))
        return StepOutcome(
            objective.item() + ctx.penalty,
            ce.item(),
            ctx.penalty,
            grad_norm,
            losses={"ce": ce.item(), "alignment": align.item()},
        )

    def finish(self, ctx: PhaseContext) -> list[PhaseVisual]:
        return []


class Fst:
    def start(self, ctx: PhaseContext) -> PhaseRun:
        return FstRun(ctx)
