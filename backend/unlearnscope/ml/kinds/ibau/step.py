"""`ibau`: Implicit Backdoor Adversarial Unlearning (Zeng, Chen, Park, Mao, Jin, Jia;
ICLR 2022).

    min_theta  L1(delta*(theta), theta),   delta*(theta) = argmax_delta  L2(delta, theta)
    L1(delta, theta) = CE(f_theta(x + m * delta), y)      (m: 1 on the share of the batch
                                                             that carries delta: 1%)
    L2(delta, theta) = CE(f_theta(x + delta), y_hat) - c ||delta||^2     (y_hat = f's labels)

A phase runs rounds of `inner_steps` + `outer_steps` engine steps. A round starts from
delta = 0; each inner step is one gradient-ascent step on delta (SGD, projected on the L2
ball ||delta|| <= norm_bound) on a fresh clean batch; the weights do not move. Each outer
step updates the weights with the implicit hypergradient, computed as in the authors'
hypergrad.fixed_point: with the fixed-point map Phi(delta, theta) = delta - a grad_delta
L2'(delta, theta) (L2' = -L2 with true labels, their loss_inner),
    v_{k+1} = (d Phi / d delta)^T v_k + dL1/d delta        (K iterations, v_0 = 0)
    d L1 / d theta = dL1/dtheta + (d Phi / d theta)^T v_K
(the Neumann series of (I - dPhi/ddelta)^-T truncated at K terms: the paper's fixed-point
approximation, not an approximation of ours). Differences from the released code: the
fixed-point map uses the outer step's batch (theirs: always the first batch), delta is
projected after every inner step (theirs: the projection line is commented out) and at
least one image of an outer batch carries delta (theirs: int(1% of the batch), one of 100).
BatchNorm stays in eval mode throughout, as in their code.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from ..protocol import (
    PhaseContext,
    PhaseRun,
    PhaseVisual,
    StepOutcome,
    ewc_term,
    image_visual,
    sample,
)
from .settings import IbauSettings


def perturbation_picture(delta: torch.Tensor) -> torch.Tensor:
    """(3, H, W) in [0, 1] for display: grey is 0, the largest |delta| is black or white."""
    scale = delta.abs().max().clamp_min(1e-12)
    return 0.5 + 0.5 * delta / scale


class IbauRun:
    def __init__(self, ctx: PhaseContext) -> None:
        size = ctx.data.clean.image_size
        self.delta = torch.zeros(1, 3, size, size, device=ctx.device)
        self.round = 0
        self.opt_kind = ""
        self.opt: torch.optim.Optimizer | None = None

    def _outer_opt(self, ctx: PhaseContext, s: IbauSettings) -> torch.optim.Optimizer:
        if self.opt is None or self.opt_kind != s.optimizer:  # an edit may switch it
            params = [p for p in ctx.model.parameters() if p.requires_grad]
            self.opt = (
                torch.optim.Adam(params, lr=ctx.cfg.lr)
                if s.optimizer == "adam"
                else torch.optim.SGD(params, lr=ctx.cfg.lr, momentum=ctx.cfg.momentum)
            )
            self.opt_kind = s.optimizer
        for group in self.opt.param_groups:
            group["lr"] = ctx.cfg.lr
        return self.opt

    def _visual(self, ctx: PhaseContext) -> PhaseVisual:
        d = self.delta[0].detach().cpu()
        scalars = {
            "l2_norm": float(torch.linalg.vector_norm(d)),
            "linf_norm": float(d.abs().max()),
            "round": float(self.round + 1),
        }
        mask = ctx.true_trigger_mask
        if mask is not None and mask.shape == d.shape[1:]:  # display only: where δ sits
            energy = d.pow(2).sum(0)
            on = energy[mask > 0].sum() / energy.sum().clamp_min(1e-12)
            scalars["share_on_trigger"] = float(on)
            scalars["trigger_area"] = float(mask.mean())
        return image_visual(
            "perturbation",
            perturbation_picture(d),
            scalars,
            f"Round {self.round + 1}, ‖δ‖₂ = {scalars['l2_norm']:.2f}.",
        )

    def _inner_step(self, ctx: PhaseContext, s: IbauSettings, pos: int) -> StepOutcome:
        model = ctx.model
        model.eval()
        x, _ = sample(ctx.data.clean, ctx.cfg.batch_size, ctx.gen, ctx.device)
        with torch.no_grad():
            y_hat = model(x).argmax(1)
        delta = self.delta.detach().requires_grad_(True)
        ce = F.cross_entropy(model(x + delta), y_hat)
        objective = -ce + s.delta_reg * delta.pow(2).sum()
        (grad,) = torch.autograd.grad(objective, delta)
        with torch.no_grad():
            new = delta - s.inner_lr * grad
            if s.norm_bound is not None:
                norm = torch.linalg.vector_norm(new)
                new = new * torch.clamp(s.norm_bound / norm.clamp_min(1e-12), max=1.0)
        self.delta = new.detach()
        visuals = []
        if (pos + 1) % s.visual_every == 0 or pos + 1 == s.inner_steps:
            visuals.append(self._visual(ctx))
        return StepOutcome(
            objective.item(),
            ce.item(),
            0.0,
            0.0,  # the weights did not move
            losses={"inner_ce": ce.item(), "delta_norm": float(torch.linalg.vector_norm(new))},
            visuals=visuals,
        )

    def _outer_step(self, ctx: PhaseContext, s: IbauSettings) -> StepOutcome:
        model = ctx.model
        model.eval()
        opt = self._outer_opt(ctx, s)
        params = [p for p in model.parameters() if p.requires_grad]
        x, y = sample(ctx.data.clean, ctx.cfg.batch_size, ctx.gen, ctx.device)
        n = len(x)
        carry = torch.zeros(n, 1, 1, 1, device=ctx.device)
        chosen = torch.randperm(n, generator=ctx.gen)[: max(1, round(s.perturbed_share * n))]
        carry[chosen.to(ctx.device)] = 1.0

        delta = self.delta.detach().requires_grad_(True)
        outer = F.cross_entropy(model(x + carry * delta), y)
        g_delta, *g_theta = torch.autograd.grad(outer, [delta, *params], allow_unused=True)
        assert g_delta is not None

        # the fixed-point map Phi(delta, theta) = delta - a * grad_delta L2'(delta, theta)
        inner = -F.cross_entropy(model(x + delta), y) + s.delta_reg * delta.pow(2).sum()
        (g_inner,) = torch.autograd.grad(inner, delta, create_graph=True)
        mapped = delta - s.fixed_point_lr * g_inner
        v = torch.zeros_like(delta)
        for _ in range(s.fixed_point_iters):
            (jv,) = torch.autograd.grad(mapped, delta, grad_outputs=v, retain_graph=True)
            v = jv + g_delta
        indirect = torch.autograd.grad(mapped, params, grad_outputs=v, allow_unused=True)

        opt.zero_grad(set_to_none=True)
        for p, direct, ind in zip(params, g_theta, indirect, strict=True):
            total = torch.zeros_like(p) if direct is None else direct.detach().clone()
            if ind is not None:
                total += ind.detach()
            p.grad = total
        weighted = ewc_term(ctx)
        penalty = 0.0
        if weighted is not None:
            weighted.backward()  # adds to the hypergradient
            penalty = weighted.item()
        max_norm = ctx.cfg.clip_norm if ctx.cfg.clip_norm is not None else float("inf")
        grad_norm = torch.nn.utils.clip_grad_norm_(params, max_norm).item()
        opt.step()
        model.eval()
        return StepOutcome(
            outer.item() + penalty,
            outer.item(),
            penalty,
            grad_norm,
            losses={"outer_ce": outer.item()},
        )

    def step(self, ctx: PhaseContext) -> StepOutcome:
        s = ctx.settings
        assert isinstance(s, IbauSettings)
        period = s.inner_steps + s.outer_steps
        pos = ctx.phase_step % period
        self.round = ctx.phase_step // period
        if pos == 0:
            self.delta = torch.zeros_like(self.delta)  # each round searches anew
        if pos < s.inner_steps:
            return self._inner_step(ctx, s, pos)
        return self._outer_step(ctx, s)

    def finish(self, ctx: PhaseContext) -> list[PhaseVisual]:
        return []


class Ibau:
    def start(self, ctx: PhaseContext) -> PhaseRun:
        return IbauRun(ctx)
