"""Fine-pruning (Liu, Dolan-Gavitt & Garg, RAID 2018), as pure PyTorch.

1. Prune: run the clean data through the model and record the mean activation of each
   channel of the last convolutional layer (the feature map the classifier reads, after
   its ReLU and global pooling: the input of the final Linear layer). Backdoor neurons
   are dormant on clean inputs, so channels are pruned in increasing order of that
   activation, as many as possible while the accuracy on a held-out part of the clean set
   stays within `max_acc_drop` points of the unpruned model's (the paper stops at a 4%
   drop) and at most `max_ratio` of the channels go.
2. Fine-tune the pruned model on clean data (the engine's steps), the pruned channels
   kept at zero.

A pruned channel c is removed by zeroing column c of the final Linear layer's weight:
the classifier no longer reads it, the same function as deleting the neuron. It is a
parameter of the model, so every copy of the model's state holds the pruned model; the
fine-tuning steps re-zero it after each update (`keep_pruned`), as a deleted neuron
stays deleted.

Where this differs from the paper: the paper prunes the last conv layer of its networks
(whose output feeds fully connected layers); here the pruned units are the channels of
the globally pooled feature map entering the classifier, which for the small CNN is the
last conv block's output and for ResNet-18 the output of its last residual stage (as
BackdoorBench prunes PreAct-ResNet18's layer4).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from ...features import classifier_layer, pooled_features
from ..finetune import finetune_step
from ..protocol import (
    PhaseContext,
    PhaseRun,
    PhaseVisual,
    StepOutcome,
    phase_optimizer,
)
from .settings import FinePruneSettings


@dataclass
class PrunePlan:
    order: list[int]  # channels, least active first
    activation: list[float]  # mean activation per channel (index = channel)
    pruned: list[int]  # the channels to prune
    accuracy_before: float  # held-out clean accuracy, percent, unpruned
    accuracy_after: float  # held-out clean accuracy with `pruned` removed
    curve: list[float]  # held-out accuracy after pruning 0, 1, 2, ... channels


@torch.no_grad()
def plan_pruning(
    model: nn.Module,
    rank_images: torch.Tensor,
    holdout_images: torch.Tensor,
    holdout_labels: torch.Tensor,
    max_acc_drop: float,
    max_ratio: float,
) -> PrunePlan:
    """Which channels fine-pruning removes (see the module doc); the model is not changed.

    Channels are ranked by their mean activation on `rank_images`; pruning stops before the
    held-out accuracy falls more than `max_acc_drop` points below the unpruned model's.
    """
    fc = classifier_layer(model)
    act = pooled_features(model, rank_images).mean(0)  # (C,)
    order = torch.argsort(act, stable=True).tolist()
    feats = pooled_features(model, holdout_images).to(fc.weight.device)
    labels = holdout_labels.to(fc.weight.device)
    keep = torch.ones(feats.shape[1], device=feats.device)
    limit = int(max_ratio * feats.shape[1])

    def accuracy() -> float:
        logits = fc(feats * keep)
        return float(100.0 * (logits.argmax(1) == labels).float().mean().item())

    base = accuracy()
    curve = [base]
    n = 0
    for k, c in enumerate(order[:limit], start=1):
        keep[c] = 0.0
        curve.append(accuracy())
        if curve[-1] < base - max_acc_drop:
            break
        n = k
    return PrunePlan(order, act.tolist(), order[:n], base, curve[n], curve)


def prune_channels(model: nn.Module, channels: list[int]) -> None:
    """Remove `channels` of the classifier's input: their weight columns are set to 0."""
    keep_pruned(model, channels)


@torch.no_grad()
def keep_pruned(model: nn.Module, channels: list[int]) -> None:
    """(Re-)zero the classifier's weight columns of the pruned channels."""
    if channels:
        fc = classifier_layer(model)
        fc.weight[:, torch.tensor(channels, dtype=torch.long, device=fc.weight.device)] = 0.0


def prune_visual(plan: PrunePlan, channels: int) -> PhaseVisual:
    """The pruning step: held-out accuracy against the number of channels pruned."""
    n = len(plan.pruned)
    return PhaseVisual(
        name="pruned",
        values={
            "held-out accuracy": [round(a, 2) for a in plan.curve],
            "labels": [float(i) for i in range(len(plan.curve))],
        },
        scalars={
            "pruned": float(n),
            "channels": float(channels),
            "accuracy_before": plan.accuracy_before,
            "accuracy_after": plan.accuracy_after,
        },
        text=f"pruned {n} of {channels} channels of the last layer (held-out clean accuracy "
        f"{plan.accuracy_before:.1f}% -> {plan.accuracy_after:.1f}%)",
    )


class FinePruneRun:
    """Step 1 prunes (no weight update); every later step fine-tunes on clean data."""

    def __init__(self, ctx: PhaseContext) -> None:
        self.pruned: list[int] | None = None
        self.opt = phase_optimizer(ctx)

    def _prune(self, ctx: PhaseContext, s: FinePruneSettings) -> StepOutcome:
        clean = ctx.data.clean
        order = torch.randperm(len(clean), generator=ctx.gen)
        n_hold = max(1, round(s.holdout_fraction * len(clean)))
        hold, rank = order[:n_hold], order[n_hold:]
        if len(rank) == 0:
            rank = hold
        plan = plan_pruning(
            ctx.model,
            clean.images[rank],
            clean.images[hold],
            clean.labels[hold],
            s.max_acc_drop,
            s.max_ratio,
        )
        prune_channels(ctx.model, plan.pruned)
        self.pruned = plan.pruned
        x, y = clean.batch(hold)
        with torch.no_grad():
            ctx.model.eval()
            ce = F.cross_entropy(ctx.model(x.to(ctx.device)), y.to(ctx.device)).item()
        return StepOutcome(
            ce,
            ce,
            0.0,
            0.0,
            losses={"holdout_accuracy": plan.accuracy_after, "pruned": float(len(plan.pruned))},
            visuals=[prune_visual(plan, len(plan.activation))],
        )

    def step(self, ctx: PhaseContext) -> StepOutcome:
        s = ctx.settings
        assert isinstance(s, FinePruneSettings)
        if self.pruned is None:
            return self._prune(ctx, s)
        outcome = finetune_step(ctx, self.opt)
        keep_pruned(ctx.model, self.pruned)  # a pruned neuron stays pruned
        return outcome

    def finish(self, ctx: PhaseContext) -> list[PhaseVisual]:
        return []


class FinePrune:
    def start(self, ctx: PhaseContext) -> PhaseRun:
        return FinePruneRun(ctx)
