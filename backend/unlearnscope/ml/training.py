"""Supervised training of a classifier on an in-memory `ImageSet` (the attack stage).

One-cycle learning rate, SGD with Nesterov momentum, channels-last, augmentation on
whole batches of tensors: no per-image Python work in the hot loop. With
`TrainConfig.precision` "bf16" (or "auto" on hardware with native bf16) the forward and
backward passes run under bf16 autocast, weights and optimiser state stay fp32.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

import torch
import torch.nn.functional as F
from torch import nn

from ..config import TrainConfig
from .augment import augment_batch
from .imageset import ImageSet

# progress(done_batches, total_batches, metrics)
TrainProgress = Callable[[int, int, dict[str, float]], None]


class BatchHook(Protocol):
    """Changes each (augmented) batch before the forward pass and adds its own loss, with
    its own optimiser stepped after the model's (the input-aware attack's generator)."""

    def transform(
        self, x: torch.Tensor, y: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]: ...

    def step(self) -> None: ...


def native_bf16(device: torch.device) -> bool:
    """Whether `device` computes bf16 natively (fast), not by emulation."""
    if device.type == "cuda":
        return bool(torch.cuda.is_bf16_supported())
    if device.type == "cpu":
        checks = ("_is_avx512_bf16_supported", "_is_amx_tile_supported")
        return any(getattr(torch.cpu, name, lambda: False)() for name in checks)
    return False


def resolve_precision(precision: str, device: torch.device) -> str:
    """ "fp32" or "bf16": what `precision` ("fp32", "bf16", "auto") means on `device`."""
    if precision == "auto":
        return "bf16" if native_bf16(device) else "fp32"
    if precision not in ("fp32", "bf16"):
        raise ValueError(f"unknown precision {precision!r}; choose fp32, bf16 or auto")
    return precision


def train_classifier(
    model: nn.Module,
    data: ImageSet,
    cfg: TrainConfig,
    augment: str,
    seed: int,
    progress: TrainProgress | None = None,
    report_every: int = 20,
    hook: BatchHook | None = None,
) -> dict[str, float]:
    """Train `model` in place; returns the last epoch's training loss and accuracy."""
    device = next(model.parameters()).device
    gen = torch.Generator().manual_seed(seed)
    images = data.images.to(device)  # (N, 3, H, W) uint8, stays uint8 until batched
    labels = data.labels.to(device)
    n = len(data)
    steps_per_epoch = max(1, n // cfg.batch_size)  # drop the ragged last batch
    total = steps_per_epoch * cfg.epochs
    opt = torch.optim.SGD(
        model.parameters(),
        lr=cfg.lr,
        momentum=cfg.momentum,
        nesterov=cfg.momentum > 0,
        weight_decay=cfg.weight_decay,
    )
    # OneCycleLR divides by zero below 5 steps (a warm-up of one step); a run that short
    # (a test on a slice) just stops early in a 5-step cycle.
    sched = torch.optim.lr_scheduler.OneCycleLR(
        opt, max_lr=cfg.lr, total_steps=max(total, 5), pct_start=0.25
    )
    use_bf16 = resolve_precision(cfg.precision, device) == "bf16"
    model.to(memory_format=torch.channels_last).train()
    done, loss_sum, correct, seen = 0, 0.0, 0, 0
    for epoch in range(cfg.epochs):
        order = torch.randperm(n, generator=gen).to(device)
        loss_sum, correct, seen = 0.0, 0, 0
        for b in range(steps_per_epoch):
            idx = order[b * cfg.batch_size : (b + 1) * cfg.batch_size]
            x = augment_batch(images[idx].float().div_(255), augment, gen)
            y = labels[idx]
            extra = None
            if hook is not None:
                x, y, extra = hook.transform(x, y)
            x = x.contiguous(memory_format=torch.channels_last)
            with torch.autocast(device.type, dtype=torch.bfloat16, enabled=use_bf16):
                logits = model(x)
            loss = F.cross_entropy(logits.float(), y, label_smoothing=cfg.label_smoothing)
            opt.zero_grad(set_to_none=True)
            (loss if extra is None else loss + extra).backward()
            opt.step()
            if hook is not None:
                hook.step()
            sched.step()
            done += 1
            loss_sum += loss.item() * len(y)
            correct += (logits.argmax(1) == y).sum().item()
            seen += len(y)
            if progress is not None and (done % report_every == 0 or done == total):
                # loss/acc: running means over this epoch's batches so far
                metrics = {"loss": loss_sum / seen, "acc": 100.0 * correct / seen}
                progress(done, total, {**metrics, "epoch": epoch + 1, "epochs": cfg.epochs})
    model.to(memory_format=torch.contiguous_format).eval()
    return {"train_loss": loss_sum / max(seen, 1), "train_acc": 100.0 * correct / max(seen, 1)}
