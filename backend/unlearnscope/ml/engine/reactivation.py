"""What a reactivation attack (qra) did once it ended: with its perturbation (float images
in [0, 1] -> the same plus the perturbation), the ASR on the full triggered test set, the
ASR without it, and the target rate of the perturbation alone on clean non-target images
(high means it is adversarial, not a reactivation)."""

from __future__ import annotations

from collections.abc import Callable

import torch

from ..kinds.protocol import PhaseVisual
from ..metrics import predict

Perturb = Callable[[torch.Tensor], torch.Tensor]
CHUNK = 512


def _moved(perturb: Perturb, images: torch.Tensor) -> torch.Tensor:
    """uint8 images -> float images with the perturbation added, on the CPU."""
    return torch.cat(
        [
            perturb(images[i : i + CHUNK].float().div(255)).cpu()
            for i in range(0, len(images), CHUNK)
        ]
    )


def reactivation(
    model: torch.nn.Module,
    perturb: Perturb,
    triggered: torch.Tensor,
    clean_non_target: torch.Tensor,
    target: int,
) -> dict[str, float | None]:
    """{"asr": with the perturbation, "asr_without": without it, "adversarial": the
    perturbation alone on clean non-target images}, in % of images sent to `target`."""

    def rate(images: torch.Tensor) -> float:
        return 100.0 * (predict(model, images) == target).float().mean().item()

    return {
        "asr": rate(_moved(perturb, triggered)),
        "asr_without": rate(triggered),
        "adversarial": rate(_moved(perturb, clean_non_target)),
    }


def reactivation_visual(rates: dict[str, float | None]) -> PhaseVisual:
    """The numbers as the run page's panel shows them."""
    return PhaseVisual(
        name="reactivation",
        scalars={k: v for k, v in rates.items() if v is not None},
        text=(
            f"ASR with the perturbation {rates['asr']:.1f}% (without it "
            f"{rates['asr_without']:.1f}%); the perturbation alone sends "
            f"{rates['adversarial']:.1f}% of clean images to the target"
        ),
    )
