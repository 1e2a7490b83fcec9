"""The backdoor-connected path: the models on the straight line between the backdoored
weights w0 and the current weights w1,

    w(alpha) = w0 + alpha * (w1 - w0),    alpha = 0, 0.1, ..., 1,

evaluated for ASR and CA. Min et al. (NeurIPS 2024, "Uncovering, Explaining, and
Mitigating the Superficial Safety of Backdoor Defense", Sec. 4) explain superficial safety
as a low-loss path back: where ASR climbs back only at alpha near 0 and CA stays high all
along, the purified model sits next to the backdoored one and a little re-tuning walks it
back; where ASR falls off soon after alpha = 0 (or CA dips in between), the defence has
left that basin. Every floating-point tensor of the state (weights and BatchNorm
statistics) is interpolated; integer buffers (batch counters) are taken from w1.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import nn

PATH_POINTS = 11  # alpha 0, 0.1, ..., 1
Measure = Callable[[nn.Module], tuple[float | None, float]]  # model -> (ASR, CA) percent


def alphas(points: int) -> list[float]:
    """`points` evenly spaced values from 0 to 1 (both included)."""
    if points < 2:
        raise ValueError("a path needs at least 2 points")
    return [round(i / (points - 1), 6) for i in range(points)]


@dataclass
class PathCurve:
    alphas: list[float]
    asr: list[float | None]  # percent; None where no trigger is known
    ca: list[float]  # percent


@torch.no_grad()
def interpolate_into(
    scratch: nn.Module, start: dict[str, torch.Tensor], end: dict[str, torch.Tensor], alpha: float
) -> None:
    """Load w0 + alpha (w1 - w0) into `scratch` (same architecture)."""
    state = {}
    for name, w0 in start.items():
        w1 = end[name]
        state[name] = w0 + alpha * (w1 - w0) if w0.is_floating_point() else w1
    scratch.load_state_dict(state)


def path_curve(
    start: nn.Module,
    end: nn.Module,
    scratch: nn.Module,
    measure: Measure,
    points: int = PATH_POINTS,
) -> PathCurve:
    """ASR and CA along the straight path from `start` (alpha 0) to `end` (alpha 1),
    evaluated on `scratch`, a third model of the same architecture (left at alpha 1)."""
    w0 = {k: v.detach().clone() for k, v in start.state_dict().items()}
    w1 = {k: v.detach().clone() for k, v in end.state_dict().items()}
    scratch.eval()
    curve = PathCurve(alphas(points), [], [])
    for a in curve.alphas:
        interpolate_into(scratch, w0, w1, a)
        asr, ca = measure(scratch)
        curve.asr.append(asr)
        curve.ca.append(ca)
    return curve
