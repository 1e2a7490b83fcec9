"""`nad`: Neural Attention Distillation (Li, Lyu, Koren, Lyu, Li, Ma; ICLR 2021).

A teacher is fine-tuned on the clean set (the first `teacher_steps` steps of the phase; the
student does not move meanwhile), then the student (the model) minimises

    CE(f(aug(x)), y) + sum_l beta_l * MSE( a_l^s / ||a_l^s||_2 , a_l^t / ||a_l^t||_2 )
    a_l = sum_c |A_{l,c}|^p            (attention map of layer l's activations A_l, (H, W))

over the chosen layer groups (low, mid, high = the model's last three conv stages), as in
the authors' code (at.py: F.mse_loss of the normalised maps). With teacher_steps = 0 the
teacher is the model as the phase starts (e.g. fine-tuned by an earlier phase).
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from contextlib import contextmanager

import torch
import torch.nn.functional as F
from torch import nn

from ...augment import augment_batch
from ..protocol import (
    PhaseContext,
    PhaseRun,
    PhaseVisual,
    StepOutcome,
    phase_optimizer,
    sample,
    sgd_step,
)
from .settings import NadSettings

# The (low, mid, high) layer groups per model family, by module names inside Classifier.
_STAGES = (
    ("net.features.stage1", "net.features.stage2", "net.features.stage3"),  # small_cnn
    ("net.layer2", "net.layer3", "net.layer4"),  # resnet18, preact_resnet18
)


def nad_layers(model: nn.Module) -> tuple[str, str, str]:
    """(low, mid, high) module names of the model's last three conv stages."""
    names = {name for name, _ in model.named_modules()}
    for stages in _STAGES:
        if all(s in names for s in stages):
            return stages
    raise ValueError("nad: no known conv stages in this model (small_cnn, resnet18, preact)")


def attention_map(features: torch.Tensor, p: float, eps: float = 1e-6) -> torch.Tensor:
    """sum_c |A_c|^p per position, L2-normalised over (H, W): (B, 1, H, W)."""
    am = features.abs().pow(p).sum(dim=1, keepdim=True)
    norm = torch.linalg.vector_norm(am, dim=(2, 3), keepdim=True)
    normalised: torch.Tensor = am / (norm + eps)
    return normalised


def attention_distance(student: torch.Tensor, teacher: torch.Tensor, p: float) -> torch.Tensor:
    """MSE between the normalised attention maps (the authors' AT loss)."""
    loss: torch.Tensor = F.mse_loss(attention_map(student, p), attention_map(teacher, p))
    return loss


@contextmanager
def capture(model: nn.Module, names: list[str]) -> Iterator[dict[str, torch.Tensor]]:
    """The outputs of modules `names` during forward passes inside the block."""
    out: dict[str, torch.Tensor] = {}
    handles = []
    for name in names:

        def hook(_m: nn.Module, _i: object, o: torch.Tensor, name: str = name) -> None:
            out[name] = o

        handles.append(model.get_submodule(name).register_forward_hook(hook))
    try:
        yield out
    finally:
        for h in handles:
            h.remove()


class NadRun:
    def __init__(self, ctx: PhaseContext) -> None:
        self.teacher = copy.deepcopy(ctx.model)
        self.teacher.requires_grad_(True)
        self.teacher_opt = phase_optimizer(ctx, self.teacher.parameters())
        self.student_started = False  # from then on the teacher is final
        self.opt = phase_optimizer(ctx)
        self.layers = nad_layers(ctx.model)

    def _teacher_step(self, ctx: PhaseContext) -> StepOutcome:
        x, y = sample(ctx.data.clean, ctx.cfg.batch_size, ctx.gen, ctx.device)
        x = augment_batch(x, ctx.data.augment, ctx.gen)
        self.teacher.train()
        ce = F.cross_entropy(self.teacher(x), y)
        for group in self.teacher_opt.param_groups:
            group["lr"] = ctx.cfg.lr
        self.teacher_opt.zero_grad(set_to_none=True)
        ce.backward()
        max_norm = ctx.cfg.clip_norm if ctx.cfg.clip_norm is not None else float("inf")
        torch.nn.utils.clip_grad_norm_(list(self.teacher.parameters()), max_norm)
        self.teacher_opt.step()
        self.teacher.eval()
        value = ce.item()
        # the model being unlearned did not move: grad_norm 0
        return StepOutcome(value, value, 0.0, 0.0, losses={"teacher_ce": value})

    def _student_step(self, ctx: PhaseContext, s: NadSettings) -> StepOutcome:
        x, y = sample(ctx.data.clean, ctx.cfg.batch_size, ctx.gen, ctx.device)
        x = augment_batch(x, ctx.data.augment, ctx.gen)
        betas = dict(zip(self.layers, (s.beta_low, s.beta_mid, s.beta_high), strict=True))
        used = [name for name, beta in betas.items() if beta > 0]
        self.teacher.eval()
        with torch.no_grad(), capture(self.teacher, used) as t_acts:
            self.teacher(x)
        ctx.model.train()
        with capture(ctx.model, used) as s_acts:
            logits = ctx.model(x)
        ce = F.cross_entropy(logits, y)
        at = torch.zeros((), device=ctx.device)
        for name in used:
            at = at + betas[name] * attention_distance(s_acts[name], t_acts[name], s.p)
        objective = ce + at
        grad_norm = sgd_step(ctx, self.opt, objective)
        return StepOutcome(
            objective.item() + ctx.penalty,
            ce.item(),
            ctx.penalty,
            grad_norm,
            losses={"ce": ce.item(), "attention": at.item()},
        )

    def step(self, ctx: PhaseContext) -> StepOutcome:
        s = ctx.settings
        assert isinstance(s, NadSettings)
        if not self.student_started and ctx.phase_step < s.teacher_steps:
            return self._teacher_step(ctx)
        if not self.student_started:  # the teacher is final (later edits of teacher_steps
            self.student_started = True  # no longer matter)
            self.teacher.requires_grad_(False)
        return self._student_step(ctx, s)

    def finish(self, ctx: PhaseContext) -> list[PhaseVisual]:
        return []


class Nad:
    def start(self, ctx: PhaseContext) -> PhaseRun:
        return NadRun(ctx)
