"""Neural Cleanse (Wang et al., IEEE S&P 2019): trigger reverse-engineering, the anomaly
index, and unlearning; as pure PyTorch.

Reverse-engineering, per candidate class c: a mask m (H, W) in [0, 1] and a pattern
p (3, H, W) in [0, 1], both through tanh (m = tanh(a) / 2 + 1/2), minimise

    CE(f((1 - m) * x + m * p), c) + lambda * |m|_1

over clean images x with Adam (lr 0.1, betas 0.5 / 0.9). lambda follows the paper's
adaptive schedule (visualizer.py of the reference code): it starts at 0; once the
stamped images reach the success threshold (99%) for `patience` consecutive checks it is
set to init_cost (1e-3); after that it is multiplied by 2 after `patience` checks at or
above the threshold and divided by 2^1.5 after `patience` checks below it. The reported
trigger of a class is the one with the smallest |m|_1 among those that reached the
threshold (the last one if none did).

Anomaly index over the classes' L1 norms: with the median norm med and
MAD = 1.4826 * median(|norm - med|), index_c = |norm_c - med| / MAD; a class whose norm is
below the median with index > 2 is flagged as infected (it needs an abnormally small
trigger to be reached from every class); a class far above the median is not. The visual
carries the index signed, (med - norm_c) / MAD, so its chart shows the one side that counts.

Unlearning: fine-tune on clean images, a share (the paper: 20%) of each batch stamped with
the recovered trigger of a flagged class and kept at its true label. With the setting
`detection: smallest` (not in the paper) the class with the smallest norm is unlearned
whether or not the MAD test flags it: for a defender who knows there is a backdoor, on data
whose classes' norms spread too widely for the test (the shapes demo: 4 to 540).

The IoU with the true trigger (display only) is the better of the IoU with the trigger's
mask and with its mirror image when training flipped images: flip augmentation teaches the
model the mirrored trigger too, and the search may find either.

Where this is simpler than the paper: the reference checks the success rate and adjusts
lambda once per epoch over its sample (and runs about a thousand epochs per class); here
every check is one mini-batch step, the number of steps per class is bounded by a setting,
and there is no early stop within a class.
"""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch import nn

from ..finetune import finetune_step
from ..protocol import (
    FoundTrigger,
    PhaseContext,
    PhaseRun,
    PhaseVisual,
    StepOutcome,
    phase_optimizer,
    sample,
)
from .settings import NeuralCleanseSettings

SUCCESS_THRESHOLD = 0.99  # stamped images classified as the candidate class
COST_UP = 2.0
COST_DOWN = 2.0**1.5
MAD_CONSISTENCY = 1.4826  # MAD of a normal distribution -> its standard deviation
ANOMALY_THRESHOLD = 2.0
MASK_THRESHOLD = 0.5  # a recovered mask's pixels >= this count as trigger pixels (IoU)
VISUAL_EVERY = 5  # steps between two pictures of the trigger being optimised


def _atanh_init(shape: tuple[int, ...], gen: torch.Generator) -> torch.Tensor:
    """tanh-space values of a uniform random start in (0, 1), as the reference's init."""
    u = torch.rand(shape, generator=gen)
    return torch.atanh((u - 0.5) * (2 - 1e-4))


def stamp(x: torch.Tensor, mask: torch.Tensor, pattern: torch.Tensor) -> torch.Tensor:
    """(1 - m) * x + m * p for float [0, 1] images (B, 3, H, W); mask (H, W), pattern (3, H, W)."""
    return (1 - mask) * x + mask * pattern


@dataclass
class TriggerSearch:
    """The reverse-engineering of one candidate class: state kept between steps."""

    target: int
    init_cost: float
    patience: int
    lr: float
    image_size: int
    gen: torch.Generator
    device: torch.device = field(default_factory=lambda: torch.device("cpu"))
    cost: float = 0.0
    steps: int = 0
    best_norm: float = math.inf
    best_mask: torch.Tensor | None = None
    best_pattern: torch.Tensor | None = None
    reached: bool = False  # some step reached the success threshold
    _up: int = 0
    _down: int = 0
    _set: int = 0
    _cost_set: bool = False

    def __post_init__(self) -> None:
        s = self.image_size
        self.mask_param = _atanh_init((s, s), self.gen).to(self.device).requires_grad_(True)
        self.pattern_param = _atanh_init((3, s, s), self.gen).to(self.device).requires_grad_(True)
        self.opt = torch.optim.Adam(
            [self.mask_param, self.pattern_param], lr=self.lr, betas=(0.5, 0.9)
        )

    def mask(self) -> torch.Tensor:
        return torch.tanh(self.mask_param) / 2 + 0.5

    def pattern(self) -> torch.Tensor:
        return torch.tanh(self.pattern_param) / 2 + 0.5

    def step(self, model: nn.Module, x: torch.Tensor) -> dict[str, float]:
        """One Adam step on a clean batch x (B, 3, H, W) float [0, 1]; the model is frozen."""
        model.eval()
        mask, pattern = self.mask(), self.pattern()
        logits = model(stamp(x, mask, pattern))
        y = torch.full((len(x),), self.target, dtype=torch.long, device=x.device)
        ce = F.cross_entropy(logits, y)
        l1 = mask.abs().sum()
        loss = ce + self.cost * l1
        grads = torch.autograd.grad(loss, [self.mask_param, self.pattern_param])
        self.opt.zero_grad(set_to_none=True)
        self.mask_param.grad, self.pattern_param.grad = grads
        self.opt.step()
        success = (logits.argmax(1) == self.target).float().mean().item()
        norm = l1.item()
        if success >= SUCCESS_THRESHOLD and norm < self.best_norm:
            self.best_norm = norm
            self.best_mask = mask.detach().clone()
            self.best_pattern = pattern.detach().clone()
            self.reached = True
        self._adapt_cost(success)
        self.steps += 1
        return {
            "ce": ce.item(),
            "l1": norm,
            "loss": loss.item(),
            "success": 100 * success,
            "cost": self.cost,
        }

    def _adapt_cost(self, success: float) -> None:
        """The paper's schedule for lambda (see the module doc)."""
        if not self._cost_set:
            self._set = self._set + 1 if success >= SUCCESS_THRESHOLD else 0
            if self._set >= self.patience:
                self.cost, self._cost_set = self.init_cost, True
                self._up = self._down = 0
            return
        if success >= SUCCESS_THRESHOLD:
            self._up, self._down = self._up + 1, 0
        else:
            self._up, self._down = 0, self._down + 1
        if self._up >= self.patience:
            self._up, self.cost = 0, self.cost * COST_UP
        elif self._down >= self.patience:
            self._down, self.cost = 0, self.cost / COST_DOWN

    def result(self) -> tuple[torch.Tensor, torch.Tensor, float]:
        """(mask (H, W), pattern (3, H, W), |mask|_1): the smallest successful trigger."""
        if self.best_mask is not None and self.best_pattern is not None:
            return self.best_mask, self.best_pattern, self.best_norm
        mask = self.mask().detach()
        return mask, self.pattern().detach(), mask.abs().sum().item()


@dataclass
class Anomaly:
    median: float
    mad: float  # 1.4826 * median absolute deviation
    index: list[float]  # |norm - med| / MAD per candidate, in the order given (the paper's)
    # (med - norm) / MAD: the index signed, positive for a trigger smaller than the median's,
    # the only side the test flags (a larger trigger is never suspicious)
    smaller: list[float]
    flagged: list[int]  # positions (in the order given) of flagged candidates


def anomaly_index(norms: list[float]) -> Anomaly:
    """MAD outlier test over the mask L1 norms (see the module doc): flagged are the
    candidates whose signed index (`smaller`) exceeds ANOMALY_THRESHOLD."""
    med = statistics.median(norms)
    mad = MAD_CONSISTENCY * statistics.median([abs(n - med) for n in norms])
    if mad == 0:
        smaller = [0.0 if n == med else math.copysign(math.inf, med - n) for n in norms]
    else:
        smaller = [(med - n) / mad for n in norms]
    flagged = [i for i, v in enumerate(smaller) if v > ANOMALY_THRESHOLD]
    return Anomaly(med, mad, [abs(v) for v in smaller], smaller, flagged)


def shown(v: float) -> float:
    """A value an event can carry (JSON has no infinity): clipped to +-1e6."""
    return max(-1e6, min(v, 1e6))


def mask_iou(
    mask: torch.Tensor, true_mask: torch.Tensor, threshold: float = MASK_THRESHOLD
) -> float:
    """IoU of {mask >= threshold} with the true trigger's pixels (H, W); display only."""
    found = mask.detach().cpu() >= threshold
    truth = true_mask.detach().cpu() > 0.5
    union = (found | truth).sum().item()
    return (found & truth).sum().item() / union if union else 0.0


def trigger_iou(mask: torch.Tensor, true_mask: torch.Tensor, augment: str) -> float:
    """mask_iou with the true trigger, or with its mirror image under flip augmentation."""
    iou = mask_iou(mask, true_mask)
    if "flip" in augment:
        iou = max(iou, mask_iou(mask, true_mask.flip(-1)))
    return iou


def mask_values(mask: torch.Tensor) -> list[float]:
    """The mask (H, W) row by row, to 3 decimals: what the page needs to stamp the recovered
    trigger onto an image, (1 - m) x + m p, with the m * p of `trigger_image`."""
    return [round(v, 3) for v in mask.detach().cpu().flatten().tolist()]


def trigger_image(mask: torch.Tensor, pattern: torch.Tensor) -> torch.Tensor:
    """(H, W, 3) uint8: the recovered trigger m * p as a picture."""
    img = (mask.detach().unsqueeze(0) * pattern.detach()).clamp(0, 1)
    return (img * 255).round().to(torch.uint8).permute(1, 2, 0).contiguous().cpu()


def unlearning_batch(
    x: torch.Tensor,
    triggers: list[tuple[torch.Tensor, torch.Tensor]],
    share: float,
) -> torch.Tensor:
    """The first round(share * B) images of x stamped with the recovered trigger(s), taken in
    turn when several classes are flagged; labels are left as they are (true labels)."""
    if not triggers or share <= 0:
        return x
    n = round(share * len(x))
    out = x.clone()
    for i in range(n):
        mask, pattern = triggers[i % len(triggers)]
        out[i] = stamp(x[i], mask, pattern)
    return out


def candidate_classes(settings: NeuralCleanseSettings, n_classes: int) -> list[int]:
    if settings.classes == "all":
        return list(range(n_classes))
    bad = [c for c in settings.classes if c >= n_classes]
    if bad:
        raise ValueError(
            f"nc: settings.classes {bad} are not classes of this data set (0-{n_classes - 1})"
        )
    return list(settings.classes)


@dataclass
class Recovered:
    target: int
    mask: torch.Tensor  # (H, W)
    pattern: torch.Tensor  # (3, H, W)
    norm: float
    reached: bool


def to_unlearn(found: list[Recovered], anomaly: Anomaly, detection: str) -> list[Recovered]:
    """The classes whose triggers the unlearning stamps: the flagged ones ("anomaly"), or
    the one with the smallest norm, flagged or not ("smallest")."""
    if detection == "smallest":
        return [min(found, key=lambda r: r.norm)] if found else []
    return [found[i] for i in anomaly.flagged]


class NeuralCleanseRun:
    """Reverse-engineer each candidate class (steps_per_class steps each), then unlearn."""

    def __init__(self, ctx: PhaseContext) -> None:
        s = ctx.settings
        assert isinstance(s, NeuralCleanseSettings)
        self.candidates = candidate_classes(s, len(ctx.data.clean.classes))
        self.found: list[Recovered] = []
        self.search: TriggerSearch | None = None
        self.anomaly: Anomaly | None = None
        self.chosen: list[Recovered] = []  # the classes whose triggers are unlearned
        self.opt = phase_optimizer(ctx)

    # -- reverse-engineering ---------------------------------------------------------------
    def _new_search(
        self, ctx: PhaseContext, s: NeuralCleanseSettings, target: int
    ) -> TriggerSearch:
        return TriggerSearch(
            target,
            s.init_cost,
            s.patience,
            s.inversion_lr,
            ctx.data.clean.image_size,
            ctx.gen,
            ctx.device,
        )

    def _iou(self, ctx: PhaseContext, mask: torch.Tensor) -> dict[str, float]:
        if ctx.true_trigger_mask is None:
            return {}
        # display only
        return {"iou": trigger_iou(mask, ctx.true_trigger_mask, ctx.data.augment)}

    def _invert_step(self, ctx: PhaseContext, s: NeuralCleanseSettings) -> StepOutcome:
        if self.search is None:
            self.search = self._new_search(ctx, s, self.candidates[len(self.found)])
        search = self.search
        x, _ = sample(ctx.data.clean, ctx.cfg.batch_size, ctx.gen, ctx.device)
        info = search.step(ctx.model, x)
        visuals = []
        found: list[Recovered] = []  # the trigger this step recovered, when it detects
        done = search.steps >= s.steps_per_class
        if done or search.steps == 1 or search.steps % VISUAL_EVERY == 0:
            mask, pattern, norm = (
                search.result()
                if done
                else (search.mask().detach(), search.pattern().detach(), info["l1"])
            )
            visuals.append(
                PhaseVisual(
                    name="recovered_trigger",
                    image=trigger_image(mask, pattern),
                    values={"mask": mask_values(mask)},
                    scalars={
                        "class": float(search.target),
                        "mask_l1": norm,
                        "success": info["success"],
                        "cost": info["cost"],
                        **self._iou(ctx, mask),
                    },
                    text=f"class {search.target}: step {search.steps}/{s.steps_per_class}, "
                    f"|m|_1 {norm:.1f}, {info['success']:.0f}% of stamped images reach it",
                )
            )
        if done:
            mask, pattern, norm = search.result()
            self.found.append(Recovered(search.target, mask, pattern, norm, search.reached))
            self.search = None
            visuals.append(self._norms_visual())
            if len(self.found) == len(self.candidates):
                visuals.append(self._detect(s.detection))
                visuals += [self._unlearned_visual(ctx, r) for r in self.chosen[:1]]
                found = self.chosen[:1]
        return StepOutcome(
            info["loss"],
            info["ce"],
            0.0,
            0.0,  # no weight update while reverse-engineering
            losses={"trigger_ce": info["ce"], "mask_l1": info["l1"], "cost": info["cost"]},
            visuals=visuals,
            found_trigger=(
                FoundTrigger(found[0].mask, found[0].pattern, found[0].target) if found else None
            ),
        )

    def _unlearned_visual(self, ctx: PhaseContext, r: Recovered) -> PhaseVisual:
        """The trigger the unlearning stamps, shown last in the recovered-trigger tile."""
        return PhaseVisual(
            name="recovered_trigger",
            image=trigger_image(r.mask, r.pattern),
            values={"mask": mask_values(r.mask)},
            scalars={"class": float(r.target), "mask_l1": r.norm, **self._iou(ctx, r.mask)},
            text=f"class {r.target}: the trigger the unlearning stamps, |m|_1 {r.norm:.1f}",
        )

    def _norms_visual(self) -> PhaseVisual:
        return PhaseVisual(
            name="mask_norms",
            values={
                "mask L1 norm": [r.norm for r in self.found],
                "labels": [float(r.target) for r in self.found],
            },
            text=f"{len(self.found)} of {len(self.candidates)} classes reverse-engineered",
        )

    def _detect(self, detection: str) -> PhaseVisual:
        self.anomaly = a = anomaly_index([r.norm for r in self.found])
        flagged = [self.found[i] for i in a.flagged]
        names = ", ".join(str(r.target) for r in flagged) or "none"
        self.chosen = chosen = to_unlearn(self.found, a, detection)
        text = f"flagged (trigger smaller than usual, index above {ANOMALY_THRESHOLD:g}): {names}"
        if detection == "smallest":
            text += f"; unlearning the smallest trigger, class {chosen[0].target}"
        elif not flagged:
            text += "; unlearning is plain clean fine-tuning"
        return PhaseVisual(
            name="anomaly_index",
            # the chart and the text from the same test: the signed index (positive: a
            # smaller trigger than the median's) and the flagged classes (1) among them
            values={
                "anomaly index": [shown(v) for v in a.smaller],
                "flagged": [float(i in a.flagged) for i in range(len(self.found))],
                "labels": [float(r.target) for r in self.found],
            },
            scalars={
                "flagged": float(len(flagged)),
                "rule": ANOMALY_THRESHOLD,
                "max_index": shown(max(a.smaller)),
                "median_norm": a.median,
            },
            text=text,
        )

    # -- unlearning ------------------------------------------------------------------------
    def _unlearn_step(self, ctx: PhaseContext, s: NeuralCleanseSettings) -> StepOutcome:
        triggers = [(r.mask, r.pattern) for r in self.chosen]
        return finetune_step(
            ctx, self.opt, change=lambda x: unlearning_batch(x, triggers, s.unlearn_share)
        )

    def step(self, ctx: PhaseContext) -> StepOutcome:
        s = ctx.settings
        assert isinstance(s, NeuralCleanseSettings)
        if len(self.found) < len(self.candidates):
            return self._invert_step(ctx, s)
        return self._unlearn_step(ctx, s)

    def finish(self, ctx: PhaseContext) -> list[PhaseVisual]:
        if self.anomaly is None:
            return [
                PhaseVisual(
                    name="anomaly_index",
                    text=f"the phase ended after {len(self.found)} of {len(self.candidates)} "
                    "classes: no anomaly index, no unlearning (give it more steps)",
                )
            ]
        return []


class NeuralCleanse:
    def start(self, ctx: PhaseContext) -> PhaseRun:
        return NeuralCleanseRun(ctx)
