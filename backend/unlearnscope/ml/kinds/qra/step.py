"""`qra`: the Query-based Reactivation Attack (QRA) of Min, Qin, Zhang, Shen, Cheng (NeurIPS
2024, "Uncovering, Explaining, and Mitigating the Superficial Safety of Backdoor Defense"),
after the authors' fine_tune/qra.py.

The attacker has the defended (purified) model f and makes a re-tuned copy g of it, as
the retuning attack does (`retune_poisoned` poisoned samples among the defender's clean
images, `retune_steps` SGD steps at lr 0.01). On queries Q = Q_clean ∪ Q_poisoned (true
labels y for the clean ones) it looks for one perturbation delta, ||delta||_inf <= eps,
that makes f answer as g does:

    min_delta  alpha * KL( g(x) || f(x + delta) )  over Q
             + CE( f(x + delta), y )                over Q_clean
    delta <- clip_eps( delta - step_size * sign(grad) )       (one batch of Q a step)

The first term reactivates: a dormant backdoor that re-tuning wakes is woken by delta
without touching the weights. The second keeps delta from being a plain adversarial
perturbation that moves every image. The authors put that second term on a separately
trained clean model; this tool has none, so it is taken on the defended model's own
clean queries, and after the phase the engine reports the target rate delta gives on
clean images without the trigger (delta alone) next to the ASR with trigger and delta.

The authors' delta is the output of a small auto-encoder of the image (one per image);
ours is one universal delta, so it can be shown as an image. The weights of f are never
changed: `qra` closes a schedule like `relearn`, before it.
"""

from __future__ import annotations

import copy

import torch
import torch.nn.functional as F

from ...imageset import ImageSet
from ..protocol import (
    PhaseContext,
    PhaseData,
    PhaseRun,
    PhaseVisual,
    StepOutcome,
    image_visual,
    sample,
)
from ..relearn.settings import RelearnSettings
from ..relearn.step import retuning_set
from .settings import QraSettings

SHOW_EVERY = 10  # steps between two updates of the perturbation's panel


def poisoned_queries(data: PhaseData, n: int, gen: torch.Generator) -> ImageSet:
    """n of the attacker's poisoned samples (triggered, labelled as the target); else
    clean images stamped with the attack's trigger. ValueError with neither."""
    own = data.attack_samples
    if own is not None and len(own) > 0:
        return own.subset(torch.randint(len(own), (n,), generator=gen))
    if data.attack_trigger is None or data.attack_target is None:
        raise ValueError(
            "qra needs the attacker's poisoned samples or the attack's trigger, which this "
            "run does not know"
        )
    idx = torch.randint(len(data.clean), (n,), generator=gen)
    images = data.attack_trigger.apply(data.clean.images[idx])
    labels = torch.full((n,), int(data.attack_target), dtype=torch.long)
    return ImageSet(images, labels, list(data.clean.classes))


def retuned_copy(
    model: torch.nn.Module,
    data: PhaseData,
    s: QraSettings,
    batch_size: int,
    gen: torch.Generator,
    device: torch.device,
) -> torch.nn.Module:
    """The retuning attack on a copy: the relearn kind's set in the paper's setting (the
    defender's clean split and `retune_poisoned` poisoned samples: relearn.step.
    retuning_set), SGD (lr 0.01, momentum 0.9) for `retune_steps` steps; eval mode, frozen."""
    copy_ = copy.deepcopy(model)
    retune = retuning_set(
        data, RelearnSettings(retune_size=None, poisoned_count=s.retune_poisoned), gen
    )
    opt = torch.optim.SGD(copy_.parameters(), lr=0.01, momentum=0.9)
    copy_.train()
    for _ in range(s.retune_steps):
        x, y = sample(retune, batch_size, gen, device)
        loss = F.cross_entropy(copy_(x), y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    copy_.eval()
    copy_.requires_grad_(False)
    return copy_


@torch.no_grad()
def _logits(model: torch.nn.Module, x: torch.Tensor, batch: int = 256) -> torch.Tensor:
    return torch.cat([model(x[i : i + batch]) for i in range(0, len(x), batch)])


class PerturbationNet(torch.nn.Module):
    """The authors' auto-encoder (fine_tune/qra.py, class AE): 3HW -> 1024 -> 1024 -> 1024
    -> 3HW, ReLU, tanh out; delta(x) = clip(eps * AE(x), -eps, eps), one per image."""

    def __init__(self, size: int) -> None:
        super().__init__()
        n = 3 * size * size
        self.size = size
        self.net = torch.nn.Sequential(
            torch.nn.Linear(n, 1024),
            torch.nn.ReLU(),
            torch.nn.Linear(1024, 1024),
            torch.nn.ReLU(),
            torch.nn.Linear(1024, 1024),
            torch.nn.ReLU(),
            torch.nn.Linear(1024, n),
            torch.nn.Tanh(),
        )

    def forward(self, x: torch.Tensor, eps: float) -> torch.Tensor:
        out: torch.Tensor = self.net(x.flatten(1))
        return (out * eps).clamp(-eps, eps).reshape(-1, 3, self.size, self.size)


def perturbation_image(delta: torch.Tensor, eps: float) -> torch.Tensor:
    """delta (3, H, W) shown on [0, 1]: grey 0.5 is no change, 0 and 1 are -eps and +eps."""
    return (0.5 + delta / (2 * eps)).clamp(0, 1)


class QraRun:
    def __init__(self, ctx: PhaseContext) -> None:
        s = ctx.settings
        assert isinstance(s, QraSettings)
        data = ctx.data
        if len(data.clean) == 0:
            raise ValueError("qra needs clean images")
        n_clean = min(s.clean_queries, len(data.clean))
        clean = data.clean.subset(torch.randperm(len(data.clean), generator=ctx.gen)[:n_clean])
        poisoned = poisoned_queries(data, s.poisoned_queries, ctx.gen)
        teacher = retuned_copy(ctx.model, data, s, ctx.cfg.batch_size, ctx.gen, ctx.device)
        self.x = torch.cat([clean.images, poisoned.images]).to(ctx.device).float().div_(255)
        self.y = torch.cat([clean.labels, poisoned.labels]).to(ctx.device)
        self.is_clean = torch.cat(
            [torch.ones(len(clean), dtype=torch.bool), torch.zeros(len(poisoned), dtype=torch.bool)]
        ).to(ctx.device)
        self.target_logits = _logits(teacher, self.x)  # g(x), once
        del teacher
        self.target = data.attack_target
        pois = ~self.is_clean
        # how far re-tuning woke the backdoor: poisoned queries g sends to the target
        self.retuned_asr = (
            100.0 * (self.target_logits[pois].argmax(1) == self.target).float().mean().item()
            if self.target is not None
            else float("nan")
        )
        size = ctx.data.clean.image_size
        self.eps = s.epsilon
        # universal: one (3, H, W) delta in [-eps, eps]; per_image: the auto-encoder
        self.perturbation = torch.zeros(3, size, size, device=ctx.device)
        self.generator: PerturbationNet | None = None
        self.opt: torch.optim.Optimizer | None = None
        if s.generator == "per_image":
            seed = int(torch.randint(2**31 - 1, (1,), generator=ctx.gen))
            with torch.random.fork_rng(devices=[]):  # the process's RNG is left as it was
                torch.manual_seed(seed)
                self.generator = PerturbationNet(size).to(ctx.device)
            self.opt = torch.optim.SGD(self.generator.parameters(), lr=0.1, momentum=0.9)

    def delta(self, x: torch.Tensor) -> torch.Tensor:
        """The perturbation of images x (B, 3, H, W): the universal one, or the
        generator's per image (with gradients to the generator)."""
        if self.generator is None:
            return self.perturbation.expand_as(x)
        out: torch.Tensor = self.generator(x, self.eps)
        return out

    @torch.no_grad()
    def perturb(self, x: torch.Tensor) -> torch.Tensor:
        """x + delta(x), clipped to [0, 1]: what the engine measures at the phase's end."""
        x = x.to(self.perturbation.device)
        return (x + self.delta(x)).clamp(0, 1)

    def _agreement(self, ctx: PhaseContext) -> tuple[float, float]:
        """(share of poisoned queries f(x + delta) sends to the target, share of clean
        queries still right), in percent."""
        with torch.no_grad():
            moved = torch.cat(
                [self.perturb(self.x[i : i + 256]) for i in range(0, len(self.x), 256)]
            )
            pred = _logits(ctx.model, moved).argmax(1)
        pois, clean = ~self.is_clean, self.is_clean
        woken = (pred[pois] == self.target).float().mean().item() if self.target is not None else 0
        return 100.0 * woken, 100.0 * (pred == self.y)[clean].float().mean().item()

    def step(self, ctx: PhaseContext) -> StepOutcome:
        s = ctx.settings
        assert isinstance(s, QraSettings)
        ctx.model.eval()
        idx = torch.randint(len(self.x), (min(ctx.cfg.batch_size, len(self.x)),), generator=ctx.gen)
        idx = idx.to(ctx.device)
        x = self.x[idx]
        if self.generator is None:
            delta = self.perturbation.clone().requires_grad_(True)
            logits = ctx.model((x + delta).clamp(0, 1))
        else:
            self.generator.train()
            logits = ctx.model((x + self.delta(x)).clamp(0, 1))
        kl = F.kl_div(
            F.log_softmax(logits, 1), F.softmax(self.target_logits[idx], 1), reduction="batchmean"
        )
        clean = self.is_clean[idx]
        ce = F.cross_entropy(logits[clean], self.y[idx][clean]) if bool(clean.any()) else kl * 0
        objective = s.alpha * kl + ce
        if self.generator is None:
            (grad,) = torch.autograd.grad(objective, delta)
            with torch.no_grad():
                self.perturbation = (self.perturbation - s.step_size * grad.sign()).clamp(
                    -s.epsilon, s.epsilon
                )
            grad_norm = grad.norm().item()
        else:
            assert self.opt is not None
            params = list(self.generator.parameters())
            grads = torch.autograd.grad(objective, params)  # the model's own grads untouched
            for p, g in zip(params, grads, strict=True):
                p.grad = g
            self.opt.step()
            self.opt.zero_grad(set_to_none=True)
            self.generator.eval()
            grad_norm = torch.linalg.vector_norm(torch.stack([g.norm() for g in grads])).item()
        visuals = []
        last = ctx.phase_step + 1 >= ctx.cfg.steps
        if (ctx.phase_step + 1) % SHOW_EVERY == 0 or last:
            visuals.append(self.visual(ctx, s))
        return StepOutcome(
            objective.item(),
            ce.item(),
            0.0,
            grad_norm,
            losses={"imitation_kl": kl.item(), "clean_ce": ce.item()},
            visuals=visuals,
        )

    def visual(self, ctx: PhaseContext, s: QraSettings) -> PhaseVisual:
        woken, kept = self._agreement(ctx)
        shown = self.perturbation
        if self.generator is not None:  # one triggered query's own perturbation
            with torch.no_grad():
                shown = self.delta(self.x[~self.is_clean][:1])[0]
        return image_visual(
            "perturbation",
            perturbation_image(shown, s.epsilon).cpu(),
            scalars={
                "queries_asr": woken,
                "retuned_asr": self.retuned_asr,
                "clean_kept": kept,
                "epsilon": s.epsilon * 255,
            },
            text=(
                f"triggered queries sent to the target with the perturbation: {woken:.1f}% "
                f"(the re-tuned copy: {self.retuned_asr:.1f}%); clean queries still right: "
                f"{kept:.1f}% (ε = {s.epsilon * 255:.0f}/255)"
            ),
        )

    def finish(self, ctx: PhaseContext) -> list[PhaseVisual]:
        return []


class Qra:
    def start(self, ctx: PhaseContext) -> PhaseRun:
        return QraRun(ctx)
