"""The one step protocol every phase kind implements, and the weight update they share.

The engine starts one `PhaseRun` per phase (`PhaseKindImpl.start`), calls its `step` once
per engine step (pause, resume, stop and schedule edits happen between two calls), and
its `finish` when the phase ends by completing, by an early stop or by an edit that ended
it (not when the user stops the run). Before every call the engine builds a fresh
`PhaseContext`, so `ctx.cfg` and `ctx.settings` reflect the latest schedule edit.

A step returns a `StepOutcome`: the numbers of the step chart (objective, cross-entropy,
EWC penalty, gradient norm), the kind's own named losses (`losses`, charted per kind) and
any `PhaseVisual`s (an image such as I-BAU's universal perturbation or Neural Cleanse's
recovered trigger, or values such as a histogram of ANP's mask), which the engine emits as
`PhaseVisualEvent`s for the page's defence view.

`sgd_step` is the one weight update the kinds share: EWC penalty, backward, clip, step.
`start_phase` finds a kind's step class through the registry and starts it.
"""

from __future__ import annotations

import copy
import importlib
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

import torch
from torch import nn

from ...config import PhaseConfig
from ..ewc import EWCPenalty
from ..imageset import ImageSet
from .registry import PHASE_KINDS


@dataclass
class PhaseData:
    # The forget set: the identified poisoned samples (triggered images, their training
    # labels); may be empty. The oracle's (the truly poisoned samples, a simulation only),
    # the user's, or, after a detection phase, what it flagged in `pool`.
    forget: ImageSet
    clean: ImageSet  # the defender's trusted clean data (a share of the training set)
    augment: str  # augmentation mode for clean batches
    # The training set as the defender has it (labels as trained, no record of which
    # samples are poisoned): what a detection phase searches. None when the run has none.
    pool: ImageSet | None = None
    # The frozen model the run started from (eval mode, no gradients): the distillation
    # teacher. The engine always sets it; None only where a caller has no use for it.
    teacher: nn.Module | None = None
    # The attacker's trigger (an attacks.Trigger): ONLY for the attacks (`relearn`, `qra`:
    # PhaseKind.attack), which play the attacker; a defence must never use it. None where
    # unknown.
    attack_trigger: Any = None
    attack_target: int | None = None  # the attack's target class, likewise attacks only
    # The attacker's own poisoned samples (those the oracle would hand over, whether or not
    # it does): ONLY for the attacks, so the retuning attack is as strong after a detected
    # forget set as after the oracle's; and for the `ep` oracle. None where nobody has them.
    attack_samples: ImageSet | None = None
    # (len(attack_samples),) the true classes of those samples (before the attacker
    # relabelled them): ONLY for `ep`, exact purification, an oracle reference that fine-
    # tunes on them at their true classes. None where unknown.
    attack_true_labels: torch.Tensor | None = None
    # A trigger an earlier phase of this run reverse-engineered (Neural Cleanse): what a
    # defence that unlearns reversed backdoor samples (`pam`) stamps. None until one is.
    recovered: FoundTrigger | None = None


@dataclass
class PhaseContext:
    """Everything a step may use; rebuilt by the engine before every step."""

    model: nn.Module  # the model being unlearned
    cfg: PhaseConfig  # common settings of this phase (lr, steps, batch_size, momentum, ...)
    settings: Any  # the validated KindSettings object of this phase, or None
    data: PhaseData  # forget (len 0 possible), clean, augment, teacher (frozen start model)
    ewc: EWCPenalty | None
    gen: torch.Generator
    device: torch.device
    phase_step: int  # steps already taken in this phase (0 at the first call)
    # (H, W) float {0, 1} of the real trigger when known: ONLY for display / IoU; a defence
    # must never use it to decide anything.
    true_trigger_mask: torch.Tensor | None = None
    # Set by `sgd_step`: the lambda * EWC value it added to the objective (0 when off).
    penalty: float = 0.0


@dataclass
class PhaseVisual:
    """What a kind shows beside the heatmaps (one panel per `name`, the latest wins)."""

    name: str  # "perturbation" | "mask_histogram" | "recovered_trigger" | "pruned" | ...
    image: torch.Tensor | None = None  # (H, W, 3) uint8
    values: dict[str, list[float]] = field(default_factory=dict)  # e.g. bins/counts
    scalars: dict[str, float] = field(default_factory=dict)  # e.g. pruned, iou, norm
    text: str = ""  # one line for people ("pruned 12 of 256 channels")
    ticks: list[str] = field(default_factory=list)  # the bars' names, in order ("layer 3, ...")


@dataclass(frozen=True)
class FoundTrigger:
    """A trigger a phase reverse-engineered: mask (H, W) and pattern (3, H, W) in [0, 1],
    stamped as (1 - m) x + m p, and the class it leads to."""

    mask: torch.Tensor
    pattern: torch.Tensor
    target: int


@dataclass
class StepOutcome:
    objective: float  # what was minimised this step
    ce: float  # task cross-entropy of the step's batch (nan if none)
    penalty: float  # EWC term, 0 when off
    grad_norm: float  # before clipping (0 if no weight update this step)
    losses: dict[str, float] = field(default_factory=dict)  # the kind's own named losses
    visuals: list[PhaseVisual] = field(default_factory=list)
    # Set on the step a kind recovers a trigger (Neural Cleanse's detection); the engine
    # measures ASR and TAR with it when no trigger was known.
    found_trigger: FoundTrigger | None = None


class Detects(Protocol):
    """A detection kind's PhaseRun also holds what it flagged, once decided (at its last
    step, or in `finish` when an edit ended the phase early): an `ml.detection.Detection`
    over `PhaseData.pool`. The engine makes it the forget set of every later phase."""

    detection: Any


class PhaseRun(Protocol):
    """One object per started phase: holds the kind's state between steps."""

    def step(self, ctx: PhaseContext) -> StepOutcome: ...  # ONE bounded step

    def finish(self, ctx: PhaseContext) -> list[PhaseVisual]: ...  # the phase ends


class PhaseKindImpl(Protocol):
    def start(self, ctx: PhaseContext) -> PhaseRun: ...


NAN = math.nan


def phase_optimizer(ctx: PhaseContext, params: Any = None) -> torch.optim.SGD:
    """SGD over the model's parameters (or `params`) with the phase's lr and momentum."""
    return torch.optim.SGD(
        ctx.model.parameters() if params is None else params,
        lr=ctx.cfg.lr,
        momentum=ctx.cfg.momentum,
    )


def ewc_term(ctx: PhaseContext) -> torch.Tensor | None:
    """lambda * EWC(model), or None when off (no penalty object or lambda = 0)."""
    if ctx.ewc is None or ctx.cfg.ewc_lambda <= 0:
        return None
    return ctx.cfg.ewc_lambda * ctx.ewc(ctx.model)


def sgd_step(ctx: PhaseContext, opt: torch.optim.Optimizer, objective: torch.Tensor) -> float:
    """Add the EWC penalty, backprop, clip at cfg.clip_norm, step; the gradient norm.

    The learning rate is set from `ctx.cfg.lr` first, so a schedule edit of the lr applies
    at the next step. `ctx.penalty` is set to the penalty added. The model is left in
    eval mode (the step itself runs in whatever mode the kind put it in).
    """
    for group in opt.param_groups:
        group["lr"] = ctx.cfg.lr
    weighted = ewc_term(ctx)
    ctx.penalty = 0.0
    if weighted is not None:
        objective = objective + weighted
        ctx.penalty = weighted.item()
    opt.zero_grad(set_to_none=True)
    objective.backward()
    params = [p for group in opt.param_groups for p in group["params"] if p.grad is not None]
    max_norm = ctx.cfg.clip_norm if ctx.cfg.clip_norm is not None else float("inf")
    grad_norm = torch.nn.utils.clip_grad_norm_(params, max_norm).item()
    opt.step()
    ctx.model.eval()
    return grad_norm


def sample(
    data: ImageSet, batch_size: int, gen: torch.Generator, device: torch.device
) -> tuple[torch.Tensor, torch.Tensor]:
    """A random batch (with replacement across steps) of an ImageSet: (x in [0,1], y)."""
    idx = torch.randint(len(data), (min(batch_size, len(data)),), generator=gen)
    x, y = data.batch(idx)  # (B, 3, H, W) float [0, 1], (B,)
    return x.to(device), y.to(device)


def image_visual(
    name: str,
    image: torch.Tensor,
    scalars: dict[str, float] | None = None,
    text: str = "",
) -> PhaseVisual:
    """A PhaseVisual of a (3, H, W) or (H, W, 3) float image in [0, 1] (clamped)."""
    if image.dim() == 3 and image.shape[0] == 3 and image.shape[-1] != 3:
        image = image.permute(1, 2, 0)
    pixels = (image.detach().float().clamp(0, 1) * 255).round().to(torch.uint8).cpu()
    return PhaseVisual(name=name, image=pixels.contiguous(), scalars=scalars or {}, text=text)


class LossRun:
    """The PhaseRun of a kind whose every step minimises one objective (ascent, recovery):
    `loss(ctx)` gives (objective without EWC, cross-entropy) on a batch, with BatchNorm in
    train mode or not (`bn_train`); the phase's SGD and `sgd_step` do the rest."""

    def __init__(
        self,
        ctx: PhaseContext,
        loss: Callable[[PhaseContext], tuple[torch.Tensor, torch.Tensor]],
        bn_train: bool,
    ) -> None:
        self.opt = phase_optimizer(ctx)
        self.loss = loss
        self.bn_train = bn_train

    def step(self, ctx: PhaseContext) -> StepOutcome:
        ctx.model.train(self.bn_train)
        objective, ce = self.loss(ctx)
        grad_norm = sgd_step(ctx, self.opt, objective)
        return StepOutcome(objective.item() + ctx.penalty, ce.item(), ctx.penalty, grad_norm)

    def finish(self, ctx: PhaseContext) -> list[PhaseVisual]:
        return []


def frozen_copy(model: nn.Module) -> nn.Module:
    """An eval-mode copy of `model` that takes no gradients: the distillation teacher."""
    teacher = copy.deepcopy(model).eval()
    teacher.requires_grad_(False)
    return teacher


_impls: dict[str, PhaseKindImpl] = {}


def kind_impl(kind: str) -> PhaseKindImpl:
    """The step implementation of a registered kind (its class, imported and made once)."""
    if kind not in _impls:
        if kind not in PHASE_KINDS:
            raise KeyError(f"unknown phase kind {kind!r}; choose one of {sorted(PHASE_KINDS)}")
        module, _, name = PHASE_KINDS[kind].step.partition(":")
        impl = getattr(importlib.import_module(module), name)()
        if not callable(getattr(impl, "start", None)):
            raise TypeError(f"{PHASE_KINDS[kind].step} has no start(ctx) method")
        _impls[kind] = impl
    return _impls[kind]


def start_phase(kind: str, ctx: PhaseContext) -> PhaseRun:
    """Start a phase of `kind`: its PhaseRun."""
    return kind_impl(kind).start(ctx)
