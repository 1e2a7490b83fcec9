"""Clean accuracy and attack success rate, in percent.

CA  = 100 * #{argmax f(x) == y} / N                    over clean test images
ASR = 100 * #{argmax f(T(x)) == target} / #{y != target}  over triggered test images
                                                       whose true class is not the target
"""

from __future__ import annotations

import torch
from torch import nn


@torch.no_grad()
def predict(model: nn.Module, images: torch.Tensor, batch_size: int = 512) -> torch.Tensor:
    """Predicted classes (N,) for float [0, 1] or uint8 images (N, C, H, W), in eval mode."""
    was_training = model.training
    model.eval()
    device = next(model.parameters()).device
    try:
        out = []
        for start in range(0, len(images), batch_size):
            x = images[start : start + batch_size].to(device, non_blocking=True)
            if x.dtype == torch.uint8:
                x = x.float().div_(255)
            out.append(model(x).argmax(1))
        return torch.cat(out) if out else torch.empty(0, dtype=torch.long, device=device)
    finally:
        model.train(was_training)


def clean_accuracy(model: nn.Module, images: torch.Tensor, labels: torch.Tensor) -> float:
    pred = predict(model, images)
    return 100.0 * (pred == labels.to(pred.device)).float().mean().item()


def attack_success_rate(model: nn.Module, triggered: torch.Tensor, target: int) -> float:
    """`triggered` must already exclude images whose true class is the target."""
    pred = predict(model, triggered)
    return 100.0 * (pred == target).float().mean().item()


def robust_accuracy(
    model: nn.Module, images: torch.Tensor, labels: torch.Tensor, batch_size: int = 512
) -> float:
    """RA, percent: triggered non-target images classified as their true class."""
    pred = predict(model, images, batch_size)
    return 100.0 * (pred == labels.to(pred.device)).float().mean().item()
