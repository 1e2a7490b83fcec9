"""What the engine watches while it unlearns: probe heatmaps, TAR, ASR and CA.

All monitor sets are fixed at the start (seeded) and kept on the model's device as float
tensors, so a measurement is one or two batched forward/backward passes and no copies.
Probe frames and the TAR set share one Grad-CAM pass when both are due. The sets are only
read, so one `Monitor` serves the training loop and a concurrent monitor (`live.py`) at
once; each call names the model it measures.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from ..config import MonitorConfig
from .attacks.base import Trigger
from .cam import make_cam
from .imageset import ImageSet
from .metrics import asr_and_ra, predict
from .models.classifier import get_layer
from .region import RegionRule, trigger_region
from .tar import (
    mass_fraction,
    pointing_game,
    rank_accuracy,
    region_auc,
    trigger_attention_ratio,
)


@dataclass
class FrameBatch:
    maps: torch.Tensor  # (P, 2, H, W) uint8
    preds: torch.Tensor  # (P, 2)
    confs: torch.Tensor  # (P, 2)
    tars: list[float | None]  # (P,) of the triggered variant


@dataclass
class TarStats:
    median: float | None
    mean: float | None
    mass: float | None  # mean relevance mass accuracy (trigger mass fraction)
    rank: float | None = None  # mean relevance rank accuracy
    pointing: float | None = None  # pointing game hit rate
    auc: float | None = None  # mean ROC-AUC of the map as a region detector


@dataclass
class Measured:
    """What one monitoring pass found; None for what was not measured."""

    frames: FrameBatch | None = None
    tar: TarStats | None = None
    asr: float | None = None
    ra: float | None = None  # robust accuracy, from the same predictions as `asr`
    ca: float | None = None
    # (K,) how many of the triggered non-target images each class got, same predictions
    triggered_classes: list[int] | None = None
    seconds: float = 0.0

    def any_value(self) -> bool:
        return self.tar is not None or self.asr is not None or self.ca is not None


def class_counts(pred: torch.Tensor, num_classes: int) -> list[int]:
    """(K,) how many predictions each class got."""
    return [int(c) for c in torch.bincount(pred.cpu(), minlength=num_classes)[:num_classes]]


def _floats(images: torch.Tensor, device: torch.device) -> torch.Tensor:
    return images.to(device).float().div_(255)  # uint8 (N, 3, H, W) -> float [0, 1]


def pick_probes(
    test: ImageSet, target: int, count: int, seed: int, allowed: torch.Tensor | None = None
) -> torch.Tensor:
    """`count` test indices of non-target images, spread over the classes (round robin);
    only where `allowed` (N,) is True when given."""
    gen = torch.Generator().manual_seed(seed)
    order = torch.randperm(len(test), generator=gen)
    by_class: dict[int, list[int]] = {}
    for i in order.tolist():
        c = int(test.labels[i])
        if c != target and (allowed is None or bool(allowed[i])):
            by_class.setdefault(c, []).append(i)
    picked: list[int] = []
    classes = sorted(by_class)
    while len(picked) < count and any(by_class.values()):
        for c in classes:
            if by_class[c] and len(picked) < count:
                picked.append(by_class[c].pop(0))
    return torch.tensor(picked, dtype=torch.long)


class Monitor:
    def __init__(
        self,
        cfg: MonitorConfig,
        model: nn.Module,
        cam_layer: str,
        test: ImageSet,
        trigger: Trigger,
        target: int | None,
        seed: int,
        region: RegionRule | None = None,
        probe_idx: torch.Tensor | None = None,
    ) -> None:
        """`target` None: the trigger is unknown (`trigger` then leaves images as they
        are): no ASR, no TAR, heatmaps of the images as they are. `probe_idx`: keep these
        probes (a trigger recovered mid-run re-stamps the same images)."""
        self.cfg = cfg
        self.trigger = trigger
        self.target = target
        self.known = target is not None
        self.num_classes = len(test.classes)
        get_layer(model, cam_layer)  # fail now, not at the first measurement
        self.cam_layer = cam_layer
        device = next(model.parameters()).device
        self.device = device
        # The trigger region per image (ml/region.py); without a rule only a patch's mask.
        if region is None and trigger.mask is not None and self.known:
            region = RegionRule("mask")
        self.region = region if self.known else None
        gen = torch.Generator().manual_seed(seed + 1)
        no_class = -1  # an unknown target: every class is a "non-target" class
        target_or_none = no_class if target is None else target
        # images the trigger has a triggered version of (all, unless a given set)
        covered = trigger.covers(test.images)
        non_target = torch.nonzero((test.labels != target_or_none) & covered).flatten()

        self.probe_idx = (
            pick_probes(test, target_or_none, cfg.probe_count, seed, covered)
            if probe_idx is None
            else probe_idx
        )
        probe_clean = test.images[self.probe_idx]
        probe_trig = trigger.apply(probe_clean)
        self.probe_images = torch.stack([probe_clean, probe_trig], 1)  # (P, 2, 3, H, W)
        self.probe_labels = test.labels[self.probe_idx]
        self._probe_x = _floats(self.probe_images.flatten(0, 1), device)  # (2P, 3, H, W)
        # (P, H, W) bool regions of the probes' triggered variants; None without a rule
        self.probe_region = self._region(probe_clean, probe_trig)

        tar_idx = non_target[torch.randperm(len(non_target), generator=gen)][: cfg.tar_set_size]
        self.tar_set_size = len(tar_idx)
        tar_clean = test.images[tar_idx]
        tar_trig = trigger.apply(tar_clean)
        self._tar_x = _floats(tar_trig, device)  # (T, 3, H, W)
        self._tar_y = test.labels[tar_idx]  # true classes, for cam_class="true"
        self._tar_region = self._region(tar_clean, tar_trig)  # (T, H, W) bool

        eval_idx = torch.randperm(len(test), generator=gen)[: cfg.eval_size]
        self._eval_x = _floats(test.images[eval_idx], device)
        self._eval_y = test.labels[eval_idx].to(device)
        asr_idx = non_target[torch.randperm(len(non_target), generator=gen)][: cfg.eval_size]
        self._asr_x = _floats(trigger.apply(test.images[asr_idx]), device)
        self._asr_y = test.labels[asr_idx].to(device)

    def _region(self, clean: torch.Tensor, triggered: torch.Tensor) -> torch.Tensor | None:
        if self.region is None:
            return None
        return trigger_region(self.trigger, clean, triggered, self.region).to(self.device)

    # -- Grad-CAM ------------------------------------------------------------------------
    def _classes(self, labels: torch.Tensor, n: int) -> torch.Tensor | None:
        """The class each map explains, per `cam_class`; None = the predicted class."""
        if self.cfg.cam_class == "target" and self.target is not None:
            return torch.full((n,), self.target, dtype=torch.long, device=self.device)
        if self.cfg.cam_class == "true":
            return labels.to(self.device)
        return None  # predicted

    def cam_pass(
        self, model: nn.Module, frames: bool, tar: bool
    ) -> tuple[FrameBatch | None, TarStats | None]:
        """Probe frames and/or TAR-set statistics from one batched Grad-CAM pass."""
        if not (frames or tar):
            return None, None
        parts, labels = [], []
        if frames:
            parts.append(self._probe_x)
            labels.append(self.probe_labels.repeat_interleave(2))
        if tar:
            parts.append(self._tar_x)
            labels.append(self._tar_y)
        x = torch.cat(parts)
        classes = self._classes(torch.cat(labels), len(x))
        with make_cam(self.cfg.cam_method, model, self.cam_layer) as cam:
            res = cam(x, classes)
        maps, logits = res.maps, res.logits  # (N, H, W) in [0, 1], (N, K)
        frame_batch, stats = None, None
        n_probe = len(self._probe_x) if frames else 0
        if frames:
            frame_batch = self._frames(maps[:n_probe], logits[:n_probe])
        if tar:
            stats = self._tar_stats(maps[n_probe:])
        return frame_batch, stats

    def _frames(self, maps: torch.Tensor, logits: torch.Tensor) -> FrameBatch:
        p = len(self.probe_idx)
        h, w = maps.shape[-2:]
        probs = logits.softmax(1)
        conf, pred = probs.max(1)
        tars: list[float | None] = [None] * p
        if self.probe_region is not None and p > 0:
            trig = maps.view(p, 2, h, w)[:, 1]
            tars = [float(v) for v in trigger_attention_ratio(trig, self.probe_region).tolist()]
        return FrameBatch(
            maps=(maps * 255).round().to(torch.uint8).view(p, 2, h, w).cpu(),
            preds=pred.view(p, 2).cpu(),
            confs=conf.view(p, 2).cpu(),
            tars=tars,
        )

    def _tar_stats(self, maps: torch.Tensor) -> TarStats:
        region = self._tar_region
        if region is None or len(maps) == 0:
            return TarStats(None, None, None)
        ratios = trigger_attention_ratio(maps, region)
        return TarStats(
            median=float(ratios.median()),
            mean=float(ratios.mean()),
            mass=float(mass_fraction(maps, region).mean()),
            rank=float(rank_accuracy(maps, region).mean()),
            pointing=float(pointing_game(maps, region).mean()),
            auc=float(region_auc(maps, region).mean()),
        )

    # -- accuracy ------------------------------------------------------------------------
    def quick_asr_ra(self, model: nn.Module) -> tuple[float | None, float | None]:
        """Monitor-subset ASR and RA (percent) from one prediction pass; None, None while
        the trigger is unknown."""
        asr, ra, _ = self.triggered(model)
        return asr, ra

    def triggered(self, model: nn.Module) -> tuple[float | None, float | None, list[int] | None]:
        """Monitor-subset ASR, RA and where the triggered images go (count per predicted
        class) from one prediction pass; None, None, None while the trigger is unknown."""
        if self.target is None:
            return None, None, None
        pred = predict(model, self._asr_x)
        asr, ra = asr_and_ra(pred, self.target, self._asr_y)
        return asr, ra, class_counts(pred, self.num_classes)

    def path_measure(self, model: nn.Module) -> tuple[float | None, float]:
        """(ASR, CA) on the monitor subset: a point of the backdoor-connected path."""
        return self.quick_asr(model), self.quick_ca(model)

    def quick_asr(self, model: nn.Module) -> float | None:
        return self.quick_asr_ra(model)[0]

    def quick_ca(self, model: nn.Module) -> float:
        return 100.0 * (predict(model, self._eval_x) == self._eval_y).float().mean().item()

    def tar_only(self, model: nn.Module) -> TarStats:
        _, stats = self.cam_pass(model, frames=False, tar=True)
        assert stats is not None
        return stats

    def measure(self, model: nn.Module, plan: set[str]) -> Measured:
        """The planned measurements ("frame", "tar", "eval") of `model`, timed."""
        t0 = time.perf_counter()
        out = Measured()
        out.frames, out.tar = self.cam_pass(model, frames="frame" in plan, tar="tar" in plan)
        if "eval" in plan:
            out.asr, out.ra, out.triggered_classes = self.triggered(model)
            out.ca = self.quick_ca(model)
        out.seconds = time.perf_counter() - t0
        return out


def inspect_sample(
    model: nn.Module,
    cam_method: str,
    cam_layer: str,
    test: ImageSet,
    trigger: Trigger,
    target: int | None,
    index: int,
    region: RegionRule | None = None,
) -> dict[str, Any]:
    """Everything the sample inspector shows for test image `index`.

    Returns images (2, H, W, 3) uint8 (clean, triggered), probs (2, K), maps
    {variant: {choice: (H, W) uint8}} for choice in predicted/true/target, and the TAR of
    the triggered image under the predicted class on its trigger region (`region`; without
    one, a patch's mask; None for a global trigger without a rule), and that region
    ((H, W) uint8, 1 inside; None with the TAR) for the overlay's outline. `target` None:
    the trigger is unknown (both variants are the image as it is; "target" maps explain
    the predicted class; no TAR).
    """
    if not 0 <= index < len(test):
        raise IndexError(f"sample index {index} is outside the test split (0-{len(test) - 1})")
    device = next(model.parameters()).device
    clean = test.images[index : index + 1]
    pair = torch.cat([clean, trigger.apply(clean)])  # (2, 3, H, W) uint8
    x = _floats(pair, device)
    label = int(test.labels[index])
    layer = get_layer(model, cam_layer)
    maps: dict[str, dict[str, bytes]] = {"clean": {}, "triggered": {}}
    tar_value: float | None = None
    region_bytes: bytes | None = None
    with make_cam(cam_method, model, layer) as cam:
        # One forward pass; a backward from the logits per class choice.
        first, for_true, for_target = cam.multi(
            x,
            [
                None,
                torch.full((2,), label, device=device),
                None if target is None else torch.full((2,), target, device=device),
            ],
        )
        probs = first.logits.softmax(1)
        choices = {"predicted": first, "true": for_true, "target": for_target}
        for choice, res in choices.items():
            u8 = (res.maps * 255).round().to(torch.uint8).cpu()
            maps["clean"][choice] = u8[0].numpy().tobytes()
            maps["triggered"][choice] = u8[1].numpy().tobytes()
        if region is None and trigger.mask is not None:
            region = RegionRule("mask")
        if region is not None and target is not None:
            where = trigger_region(trigger, pair[:1], pair[1:], region).to(device)
            tar_value = float(trigger_attention_ratio(first.maps[1:], where)[0])
            region_bytes = where[0].to(torch.uint8).cpu().numpy().tobytes()
    return {
        "index": index,
        "label": label,
        "size": int(pair.shape[-1]),
        "images": pair.permute(0, 2, 3, 1).contiguous().numpy().tobytes(),
        "probs": probs.cpu().tolist(),
        "maps": maps,
        "tar": tar_value,
        "region": region_bytes,
    }
