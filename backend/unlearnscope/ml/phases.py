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
from typing import Protocol

import torch
import torch.nn.functional as F
from torch import nn

from ..config import PhaseConfig
from ..phase_kinds import PHASE_KINDS
from .augment import augment_batch
from .ewc import EWCPenalty
from .imageset import ImageSet

DISTILL_TEMPERATURE = 2.0


@dataclass
class PhaseData:
    forget: ImageSet  # identified poisoned samples: triggered images, target labels
    clean: ImageSet  # the defender's clean training subset
    augment: str  # augmentation mode for clean batches
    # The frozen model the run started from (eval mode, no gradients): the distillation
    # teacher. The engine always sets it; None only where a caller has no use for it.
    teacher: nn.Module | None = None


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


class Ascent:
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


class Recovery:
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
    """What a phase kind's step class provides (see Ascent, Recovery)."""

    bn_train: bool  # BatchNorm in train mode during the step

    def task_loss(
        self,
        model: nn.Module,
        cfg: PhaseConfig,
        data: PhaseData,
        gen: torch.Generator,
        device: torch.device,
    ) -> tuple[torch.Tensor, torch.Tensor]: ...


_steps: dict[str, PhaseStep] = {}


def phase_step(kind: str) -> PhaseStep:
    """The step implementation of a registered kind (its class, imported and made once)."""
    if kind not in _steps:
        if kind not in PHASE_KINDS:
            raise KeyError(f"unknown phase kind {kind!r}; choose one of {sorted(PHASE_KINDS)}")
        module, _, name = PHASE_KINDS[kind].step.partition(":")
        _steps[kind] = getattr(importlib.import_module(module), name)()
    return _steps[kind]


def optimisation_step(
    model: nn.Module,
    opt: torch.optim.Optimizer,
    kind: str,
    cfg: PhaseConfig,
    data: PhaseData,
    ewc: EWCPenalty | None,
    gen: torch.Generator,
    device: torch.device,
) -> tuple[StepLoss, float]:
    """One step of `kind`; returns its losses and the gradient norm before clipping."""
    phase = phase_step(kind)
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
