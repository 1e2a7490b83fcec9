"""The PhaseRun the detection kinds share (spectral, ac, abl, scan): it searches the
training set (`PhaseData.pool`) for poisoned samples and flags them.

The phase's steps split the pool into equal shares: each step passes one share through
the model (penultimate features and logits, batches of `batch_size`), so a long search
shows progress and pause, resume, stop and schedule edits apply between shares. The last
step, or `finish` when an edit ended the phase early, runs the kind's `decide` on all of
it. The model is not changed; the step chart shows the mean cross-entropy of each share.

`decide` sees the pool's features, logits and labels and the defender's trusted clean
set; never which samples are truly poisoned (the engine keeps that, for display only).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from ..detection.result import Detection
from ..features import features_and_logits
from ..imageset import ImageSet
from .protocol import PhaseContext, PhaseVisual, StepOutcome


@dataclass
class Gathered:
    """What one pass over the pool gave."""

    feats: torch.Tensor  # (N, D) penultimate features
    logits: torch.Tensor  # (N, K)
    labels: torch.Tensor  # (N,) the training labels
    n_classes: int


Decide = Callable[[Gathered, PhaseContext], Detection]


def search_pool(ctx: PhaseContext) -> ImageSet:
    pool = ctx.data.pool
    if pool is None or len(pool) == 0:
        raise ValueError(
            f"{ctx.cfg.kind} searches the training set for poisoned samples, but this run "
            "has no training set to search"
        )
    return pool


class DetectionRun:
    def __init__(self, ctx: PhaseContext, decide: Decide) -> None:
        self.pool = search_pool(ctx)
        self.decide = decide
        self.shares = list(torch.arange(len(self.pool)).tensor_split(max(1, ctx.cfg.steps)))
        self.done = 0
        self.feats: list[torch.Tensor] = []
        self.logits: list[torch.Tensor] = []
        self.detection: Detection | None = None

    def _extract(self, ctx: PhaseContext) -> float:
        """Pass the next share through the model: its mean cross-entropy (nan if empty)."""
        idx = self.shares[self.done]
        self.done += 1
        if len(idx) == 0:
            return math.nan
        x, y = self.pool.batch(idx)
        feats, logits = features_and_logits(ctx.model, x, ctx.cfg.batch_size)
        self.feats.append(feats)
        self.logits.append(logits)
        return float(F.cross_entropy(logits, y).item())

    def _decide(self, ctx: PhaseContext) -> None:
        while self.done < len(self.shares):
            self._extract(ctx)
        gathered = Gathered(
            feats=torch.cat(self.feats),
            logits=torch.cat(self.logits),
            labels=self.pool.labels,
            n_classes=len(self.pool.classes),
        )
        self.feats, self.logits = [], []
        self.detection = self.decide(gathered, ctx)

    def step(self, ctx: PhaseContext) -> StepOutcome:
        ce = self._extract(ctx) if self.done < len(self.shares) else math.nan
        seen = sum(len(s) for s in self.shares[: self.done])
        if self.done >= len(self.shares) and self.detection is None:
            self._decide(ctx)
        text = f"searched {seen:,} of {len(self.pool):,} training images"
        visual = PhaseVisual(
            name="search",
            scalars={"searched": float(seen), "training_images": float(len(self.pool))},
            text=text + ("; decided which are poisoned" if self.detection else ""),
        )
        return StepOutcome(ce, ce, 0.0, 0.0, losses={"ce": ce}, visuals=[visual])

    def finish(self, ctx: PhaseContext) -> list[PhaseVisual]:
        if self.detection is None:
            self._decide(ctx)
        return []


def clean_features(ctx: PhaseContext) -> tuple[torch.Tensor, torch.Tensor]:
    """(features, labels) of the defender's trusted clean set under the model."""
    clean = ctx.data.clean
    feats, _ = features_and_logits(ctx.model, clean.images, ctx.cfg.batch_size)
    return feats, clean.labels
