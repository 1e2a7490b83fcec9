"""Adversarial Neuron Pruning (Wu & Wang, NeurIPS 2021), as pure PyTorch.

Every affine BatchNorm2d output channel k (a "neuron") gets a mask m_k in [0, 1] and,
while perturbed, a multiplicative perturbation of its weight and bias:

    BN_k(x) = gamma_k * (m_k + delta_k) * x_hat_k + beta_k * (1 + xi_k),  |delta|, |xi| <= eps

The masks minimise, on clean data only,

    alpha * CE(f(x; m), y) + (1 - alpha) * max_{delta, xi} CE(f(x; m, delta, xi), y)

(alpha = 0.2, eps = 0.4 in the paper). Per mini-batch the inner maximum is taken by
`anp_steps` signed gradient steps of size eps / anp_steps from a uniform random start in
[-eps, eps], projected back onto the box; the masks then take one SGD step (lr 0.2,
momentum 0.9) and are clipped to [0, 1]. A backdoor neuron is one whose perturbation
alone already breaks clean predictions (it is sensitive); its mask goes to 0. After the
mask phase every neuron whose mask is below the threshold (0.2) is pruned: its BatchNorm
weight gamma_k is set to 0, exactly the effect of m_k = 0 (the reference code,
prune_neuron_cifar.py, prunes the same way); the other neurons keep their full weight
(the masks only rank). The weights are never touched while the masks learn.

Differences from the reference implementation (csdongxian/ANP_backdoor):
- the masks act through forward hooks on the model's own BatchNorm layers instead of a
  NoisyBatchNorm2d class swapped into the network, so any model of the registry works;
- BatchNorm normalises with the batch's statistics during the mask steps, as the reference
  (which runs the model in train mode), but its running statistics are not updated, so no
  buffer of the model changes before pruning (the reference's drift towards the clean
  subset);
- the perturbation is clipped to [-eps, eps] after its step (the paper's constraint).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.hooks import RemovableHandle

from ...layer_names import named, plain_layer_name
from ..protocol import PhaseContext, PhaseRun, PhaseVisual, StepOutcome, sample
from .settings import AnpSettings

VISUAL_EVERY = 5  # steps between two mask histograms (and the first and last step)


@dataclass
class NeuronLayer:
    name: str
    bn: nn.BatchNorm2d
    mask: torch.Tensor  # (C,) leaf, requires grad: the learnt mask in [0, 1]
    noise_w: torch.Tensor  # (C,) leaf: delta, perturbation of the weight coefficient
    noise_b: torch.Tensor  # (C,) leaf: xi, perturbation of the bias coefficient


@dataclass
class NeuronMasks:
    """Masks and perturbations on every affine BatchNorm2d of a model (see the module doc)."""

    layers: list[NeuronLayer]
    perturbed: bool = False
    # Off: the hooks pass the BatchNorm output through, so between mask steps (monitoring,
    # evaluation) the model is exactly the model, unmasked.
    enabled: bool = True
    _handles: list[RemovableHandle] = field(default_factory=list)

    @classmethod
    def attach(cls, model: nn.Module) -> NeuronMasks:
        layers = []
        for name, module in model.named_modules():
            if isinstance(module, nn.BatchNorm2d) and module.affine:
                c, dev = module.num_features, module.weight.device
                layers.append(
                    NeuronLayer(
                        name,
                        module,
                        torch.ones(c, device=dev, requires_grad=True),
                        torch.zeros(c, device=dev, requires_grad=True),
                        torch.zeros(c, device=dev, requires_grad=True),
                    )
                )
        if not layers:
            raise ValueError("ANP needs a model with BatchNorm2d layers (its neurons)")
        masks = cls(layers)
        for layer in layers:
            masks._handles.append(layer.bn.register_forward_hook(masks._hook(layer)))
        return masks

    def _hook(self, layer: NeuronLayer):  # type: ignore[no-untyped-def]
        def hook(
            module: nn.Module, inputs: tuple[torch.Tensor, ...], out: torch.Tensor
        ) -> torch.Tensor:
            if not self.enabled:
                return out
            assert isinstance(module, nn.BatchNorm2d)
            if self.perturbed:
                w = layer.mask + layer.noise_w
                b = 1 + layer.noise_b
            else:
                w, b = layer.mask, torch.ones_like(layer.mask)
            # The batch's own statistics (as the reference, which runs the model in train
            # mode), without touching the running statistics: no buffer changes.
            return F.batch_norm(
                inputs[0],
                None,
                None,
                module.weight.detach() * w,
                module.bias.detach() * b,
                True,
                0.0,
                module.eps,
            )

        return hook

    def detach(self) -> None:
        """Remove the hooks: the model is as it was (masks do not stay in it)."""
        for handle in self._handles:
            handle.remove()
        self._handles.clear()

    def masks(self) -> list[torch.Tensor]:
        return [layer.mask for layer in self.layers]

    def noises(self) -> list[torch.Tensor]:
        return [t for layer in self.layers for t in (layer.noise_w, layer.noise_b)]

    def all_mask_values(self) -> torch.Tensor:
        """(total neurons,) every mask value, layer after layer."""
        return torch.cat([layer.mask.detach().flatten() for layer in self.layers]).cpu()

    def below(self, threshold: float) -> dict[str, list[int]]:
        """Per layer: the channels whose mask is below `threshold` (pruned in finish)."""
        return {
            layer.name: torch.nonzero(layer.mask.detach() < threshold).flatten().tolist()
            for layer in self.layers
        }


@dataclass
class AnpLosses:
    natural: float  # CE of the masked model, no perturbation
    robust: float  # CE under the adversarial neuron perturbation
    objective: float  # alpha * natural + (1 - alpha) * robust
    accuracy: float  # of the masked model on the batch, percent
    mask_grad_norm: float  # of the objective's gradient in the masks


def anp_step(
    model: nn.Module,
    masks: NeuronMasks,
    opt: torch.optim.Optimizer,
    x: torch.Tensor,
    y: torch.Tensor,
    eps: float,
    alpha: float,
    anp_steps: int,
    gen: torch.Generator,
) -> AnpLosses:
    """One mask update on the batch (x, y); the model's own weights get no gradient.

    `opt` optimises masks.masks() (SGD, the paper's lr 0.2, momentum 0.9).
    """
    model.eval()  # dropout off; the hooks normalise with batch statistics (module doc)
    masks.enabled = True
    try:
        return _anp_step(model, masks, opt, x, y, eps, alpha, anp_steps, gen)
    finally:
        masks.perturbed = False
        masks.enabled = False


def _anp_step(
    model: nn.Module,
    masks: NeuronMasks,
    opt: torch.optim.Optimizer,
    x: torch.Tensor,
    y: torch.Tensor,
    eps: float,
    alpha: float,
    anp_steps: int,
    gen: torch.Generator,
) -> AnpLosses:
    if eps > 0:
        with torch.no_grad():  # random start in the box, as the reference's reset(rand_init)
            for t in masks.noises():
                r = torch.rand(t.shape, generator=gen).to(t.device)
                t.copy_((2 * r - 1) * eps)
        masks.perturbed = True
        step_size = eps / anp_steps
        for _ in range(anp_steps):
            loss_noise = F.cross_entropy(model(x), y)
            grads = torch.autograd.grad(loss_noise, masks.noises())
            with torch.no_grad():  # ascend the clean loss by a signed step, stay in the box
                for t, g in zip(masks.noises(), grads, strict=True):
                    t.add_(step_size * g.sign()).clamp_(-eps, eps)
        robust = F.cross_entropy(model(x), y)
    else:
        robust = torch.zeros((), device=x.device)
    masks.perturbed = False
    logits = model(x)
    natural = F.cross_entropy(logits, y)
    objective = alpha * natural + (1 - alpha) * robust
    opt.zero_grad(set_to_none=True)
    grads = torch.autograd.grad(objective, masks.masks())
    for m, g in zip(masks.masks(), grads, strict=True):
        m.grad = g
    gnorm = torch.linalg.vector_norm(torch.cat([g.flatten() for g in grads])).item()
    opt.step()
    with torch.no_grad():
        for m in masks.masks():
            m.clamp_(0.0, 1.0)
    acc = 100.0 * (logits.argmax(1) == y).float().mean().item()
    return AnpLosses(natural.item(), float(robust.item()), objective.item(), acc, gnorm)


def prune_neurons(model: nn.Module, channels: dict[str, list[int]]) -> int:
    """Prune: BatchNorm weight gamma_k = 0 for the listed channels of each named layer.

    Kept in the model's parameters, so every copy of its state (snapshots, the live
    monitor, a checkpoint) holds the pruned model. Returns how many were pruned.
    """
    n = 0
    with torch.no_grad():
        for name, idx in channels.items():
            if idx:
                bn = model.get_submodule(name)
                assert isinstance(bn, nn.BatchNorm2d)
                bn.weight[torch.tensor(idx, dtype=torch.long, device=bn.weight.device)] = 0.0
                n += len(idx)
    return n


def histogram(values: torch.Tensor, bins: int = 20) -> tuple[list[float], list[float]]:
    """(bin edges (bins + 1), counts (bins)) of mask values over [0, 1]."""
    counts = torch.histc(values.float().clamp(0, 1), bins=bins, min=0.0, max=1.0)
    edges = torch.linspace(0.0, 1.0, bins + 1)
    return [round(e, 4) for e in edges.tolist()], counts.tolist()


def mask_visuals(masks: NeuronMasks, threshold: float, pruned: bool) -> list[PhaseVisual]:
    """The mask histogram and the per-layer count under the threshold (or pruned)."""
    values = masks.all_mask_values()
    edges, counts = histogram(values)
    below = masks.below(threshold)
    n = sum(len(v) for v in below.values())
    total = len(values)
    verb = "pruned: mask below" if pruned else "would be pruned now: mask below"
    return [
        PhaseVisual(
            name="mask_histogram",
            values={"edges": edges, "counts": counts},
            scalars={
                "pruned": float(n),
                "neurons": float(total),
                "mean_mask": float(values.mean()),
                "threshold": threshold,
            },
            text=f"{n} of {total} neurons {verb} {threshold:g}",
        ),
        PhaseVisual(
            name="pruned",
            values={
                "pruned": [float(len(v)) for v in below.values()],
                "neurons": [float(layer.mask.numel()) for layer in masks.layers],
                "labels": [float(i) for i in range(len(masks.layers))],
            },
            ticks=[plain_layer_name(layer.name) for layer in masks.layers],
            scalars={"pruned": float(n)},
            text=("pruned" if pruned else "would prune")
            + " per layer: "
            + ("; ".join(f"{named(name)}: {len(v)}" for name, v in below.items() if v) or "none"),
        ),
    ]


class AnpRun:
    """The mask phase, one mask step per engine step; `finish` prunes."""

    def __init__(self, ctx: PhaseContext) -> None:
        self.masks = NeuronMasks.attach(ctx.model)
        self.masks.enabled = False
        self.opt = torch.optim.SGD(self.masks.masks(), lr=ctx.cfg.lr, momentum=ctx.cfg.momentum)

    def step(self, ctx: PhaseContext) -> StepOutcome:
        s = ctx.settings
        assert isinstance(s, AnpSettings)
        for group in self.opt.param_groups:  # an edit may change them
            group["lr"], group["momentum"] = ctx.cfg.lr, ctx.cfg.momentum
        x, y = sample(ctx.data.clean, ctx.cfg.batch_size, ctx.gen, ctx.device)
        out = anp_step(ctx.model, self.masks, self.opt, x, y, s.eps, s.alpha, s.anp_steps, ctx.gen)
        n = ctx.phase_step + 1
        visuals = []
        if n == 1 or n % VISUAL_EVERY == 0 or n >= ctx.cfg.steps:
            visuals = mask_visuals(self.masks, s.threshold, pruned=False)
        return StepOutcome(
            out.objective,
            out.natural,
            0.0,
            0.0,  # no weight update: only the masks learn
            losses={
                "natural": out.natural,
                "perturbed": out.robust,
                "mask_grad_norm": out.mask_grad_norm,
            },
            visuals=visuals,
        )

    def finish(self, ctx: PhaseContext) -> list[PhaseVisual]:
        """Prune every neuron whose mask is below the threshold; the hooks go."""
        s = ctx.settings
        assert isinstance(s, AnpSettings)
        self.masks.detach()
        prune_neurons(ctx.model, self.masks.below(s.threshold))
        return mask_visuals(self.masks, s.threshold, pruned=True)


class Anp:
    def start(self, ctx: PhaseContext) -> PhaseRun:
        return AnpRun(ctx)
