"""Phase kinds: what one optimisation step of a phase does.

A phase kind names its data and its objective (a loss to *minimise*); the engine owns
the optimiser, clipping and bookkeeping. The kinds are registered in phase_kinds.py (one
entry each, naming its step class here or anywhere else); `phase_step` finds the class.

- ascent:   objective = -min(CE(f(x_forget), y_target), clamp) + lambda * EWC
            gradient *ascent* on the forget set, bounded by the clamp (its gradient is zero
            once a batch's CE reaches the clamp). BatchNorm stays in eval mode, so the
            running statistics are not dragged towards triggered images.
- recovery: objective = CE(f(aug(x_clean)), y) + w * mean(-log(1 - p_target(x_forget)))
                        + d * T^2 * KL(f0(aug(x_clean)) / T || f(aug(x_clean)) / T)
                        + lambda * EWC
            fine-tuning on clean data (BN in train mode); with forget_weight w > 0 an
            unlikelihood term keeps the target class unlikely on the forget set, so
            fine-tuning cannot re-learn the backdoor (it only pushes the target down,
            unlike CE ascent, which drags every other class towards uniform). With
            distill_weight d > 0 the clean batch is also distilled from f0, the frozen model
            the run started from: on clean images the backdoored model is a good teacher,
            and matching its whole output distribution holds clean accuracy better than
            the labels of 5% of the data alone (T = DISTILL_TEMPERATURE; README, Results).
"""

from __future__ import annotations

import copy
import importlib
from dataclasses import dataclass
from typing import Protocol, cast

import torch
import torch.nn.functional as F
from torch import nn

from ..config import PhaseConfig
from ..phase_kinds import PHASE_KINDS
from .augment import augment_batch
from .ewc import EWCPenalty
from .imageset import ImageSet
from .phase_api import PhaseContext, PhaseKindImpl, PhaseRun, PhaseVisual, StepOutcome
from .phase_api import PhaseData as PhaseData  # re-exported: its home before phase_api

DISTILL_TEMPERATURE = 2.0


@dataclass
class StepLoss:
    objective: torch.Tensor  # what the optimiser minimised (detached)
    ce: float  # task cross-entropy of the batch
    penalty: float  # lambda * EWC penalty, 0 when off


def unlikelihood(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """mean(-log(1 - p_target)): small once the target class is unlikely; bounded below by 0.

    Computed in log space: log(1 - p_t) = logsumexp(logits without t) - logsumexp(logits).
    """
    is_target = F.one_hot(target, logits.shape[1]).bool()  # (B, K)
    others = torch.logsumexp(logits.masked_fill(is_target, float("-inf")), dim=1)
    return (torch.logsumexp(logits, dim=1) - others).mean()


def frozen_copy(model: nn.Module) -> nn.Module:
    """An eval-mode copy of `model` that takes no gradients: the distillation teacher."""
    teacher = copy.deepcopy(model).eval()
    teacher.requires_grad_(False)
    return teacher


def distillation(student: torch.Tensor, teacher: torch.Tensor, temperature: float) -> torch.Tensor:
    """T^2 * KL(softmax(teacher / T) || softmax(student / T)), batch mean (Hinton et al.)."""
    log_p = F.log_softmax(student / temperature, dim=1)
    log_q = F.log_softmax(teacher / temperature, dim=1)
    return F.kl_div(log_p, log_q, reduction="batchmean", log_target=True) * temperature**2


def _sample(
    data: ImageSet, batch_size: int, gen: torch.Generator, device: torch.device
) -> tuple[torch.Tensor, torch.Tensor]:
    idx = torch.randint(len(data), (min(batch_size, len(data)),), generator=gen)
    x, y = data.batch(idx)  # (B, 3, H, W) float [0, 1], (B,)
    return x.to(device), y.to(device)


class LossRun:
    """The PhaseRun of a kind written as a loss (`bn_train` + `task_loss`, like Ascent and
    Recovery): one SGD optimiser for the phase (lr and momentum of the phase's start; the
    lr follows edits), one `optimisation_step` per step, nothing to do at the end."""

    def __init__(self, kind: PhaseStep, ctx: PhaseContext) -> None:
        self.kind = kind
        self.opt = torch.optim.SGD(ctx.model.parameters(), lr=ctx.cfg.lr, momentum=ctx.cfg.momentum)

    def step(self, ctx: PhaseContext) -> StepOutcome:
        for group in self.opt.param_groups:  # an edit may have changed the lr
            group["lr"] = ctx.cfg.lr
        loss, grad_norm = optimisation_step(
            ctx.model, self.opt, self.kind, ctx.cfg, ctx.data, ctx.ewc, ctx.gen, ctx.device
        )
        return StepOutcome(
            objective=float(loss.objective), ce=loss.ce, penalty=loss.penalty, grad_norm=grad_norm
        )

    def finish(self, ctx: PhaseContext) -> list[PhaseVisual]:
        return []


class LossKind:
    """Base of the loss-written kinds: `start` makes their LossRun."""

    bn_train: bool

    def start(self, ctx: PhaseContext) -> PhaseRun:
        return LossRun(cast(PhaseStep, self), ctx)


class Ascent(LossKind):
    bn_train = False

    def task_loss(
        self,
        model: nn.Module,
        cfg: PhaseConfig,
        data: PhaseData,
        gen: torch.Generator,
        device: torch.device,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """(objective, cross-entropy) on a forget-set batch."""
        x, y = _sample(data.forget, cfg.batch_size, gen, device)
        ce = F.cross_entropy(model(x), y)
        bounded = ce if cfg.loss_clamp is None else torch.clamp(ce, max=cfg.loss_clamp)
        return -bounded, ce


class Recovery(LossKind):
    bn_train = True

    def task_loss(
        self,
        model: nn.Module,
        cfg: PhaseConfig,
        data: PhaseData,
        gen: torch.Generator,
        device: torch.device,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """(objective, cross-entropy) on an augmented clean batch."""
        x, y = _sample(data.clean, cfg.batch_size, gen, device)
        x = augment_batch(x, data.augment, gen)
        if cfg.forget_weight == 0:
            logits = model(x)
            objective = ce = F.cross_entropy(logits, y)
        else:
            # One mixed batch, so BatchNorm sees clean and forget images together.
            xf, yf = _sample(data.forget, cfg.batch_size, gen, device)
            both = model(torch.cat([x, xf]))
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


class PhaseStep(Protocol):
    """A kind written as a loss (see Ascent, Recovery): the engine wraps it in a LossRun.
    Kinds with state between steps implement phase_api.PhaseKindImpl instead."""

    bn_train: bool  # BatchNorm in train mode during the step

    def task_loss(
        self,
        model: nn.Module,
        cfg: PhaseConfig,
        data: PhaseData,
        gen: torch.Generator,
        device: torch.device,
    ) -> tuple[torch.Tensor, torch.Tensor]: ...


_steps: dict[str, PhaseStep | PhaseKindImpl] = {}


def phase_step(kind: str) -> PhaseStep | PhaseKindImpl:
    """The step implementation of a registered kind (its class, imported and made once)."""
    if kind not in _steps:
        if kind not in PHASE_KINDS:
            raise KeyError(f"unknown phase kind {kind!r}; choose one of {sorted(PHASE_KINDS)}")
        module, _, name = PHASE_KINDS[kind].step.partition(":")
        _steps[kind] = getattr(importlib.import_module(module), name)()
    return _steps[kind]


def start_phase(kind: str, ctx: PhaseContext) -> PhaseRun:
    """Start a phase of `kind`: its PhaseRun (a loss-written kind runs in a LossRun)."""
    impl = phase_step(kind)
    if hasattr(impl, "start"):
        return cast(PhaseKindImpl, impl).start(ctx)
    return LossRun(cast(PhaseStep, impl), ctx)


def optimisation_step(
    model: nn.Module,
    opt: torch.optim.Optimizer,
    kind: str | PhaseStep,
    cfg: PhaseConfig,
    data: PhaseData,
    ewc: EWCPenalty | None,
    gen: torch.Generator,
    device: torch.device,
) -> tuple[StepLoss, float]:
    """One step of a loss-written kind (its name or its object); returns its losses and
    the gradient norm before clipping."""
    phase = cast(PhaseStep, phase_step(kind)) if isinstance(kind, str) else kind
    model.train(phase.bn_train)
    objective, ce = phase.task_loss(model, cfg, data, gen, device)
    penalty = 0.0
    if ewc is not None and cfg.ewc_lambda > 0:
        weighted = cfg.ewc_lambda * ewc(model)
        objective = objective + weighted
        penalty = weighted.item()
    opt.zero_grad(set_to_none=True)
    objective.backward()
    params = [p for p in model.parameters() if p.grad is not None]
    max_norm = cfg.clip_norm if cfg.clip_norm is not None else float("inf")
    grad_norm = torch.nn.utils.clip_grad_norm_(params, max_norm).item()
    opt.step()
    model.eval()
    return StepLoss(objective.detach(), ce.item(), penalty), grad_norm
