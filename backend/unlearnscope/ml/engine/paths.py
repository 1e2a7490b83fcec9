"""The backdoor-connected path of a run (ml/path.py) as the engine measures it: a copy of
the weights at a phase end or on request (`PathJob`), measured by the live monitor thread
or in place (`PathMeter`), and the `PathEvaluated` event that reports it."""

from __future__ import annotations

import time
from dataclasses import dataclass

import torch

from ...events import PathEvaluated
from ..kinds.protocol import frozen_copy
from ..monitor import Monitor
from ..path import PATH_POINTS, PathCurve, path_curve


@dataclass
class PathJob:
    """A path to measure: the weights at `step` (a copy) and how to label the answer."""

    state: dict[str, torch.Tensor]
    step: int
    phase_index: int
    label: str
    request_id: str = ""


def path_job(
    model: torch.nn.Module, step: int, phase_index: int, label: str, request_id: str = ""
) -> PathJob:
    """The job for the model as it is now (its weights copied: training goes on)."""
    state = {k: v.detach().clone() for k, v in model.state_dict().items()}
    return PathJob(state, step, phase_index, label, request_id)


def path_points(configured: int) -> int:
    """Points on the path: the configured number, or PATH_POINTS on request where phase
    ends measure none (monitor.path_points 0)."""
    return configured or PATH_POINTS


def path_event(job: PathJob, curve: PathCurve, seconds: float) -> PathEvaluated:
    return PathEvaluated(
        step=job.step,
        phase_index=job.phase_index,
        label=job.label,
        request_id=job.request_id,
        alphas=curve.alphas,
        asr=curve.asr,
        ca=curve.ca,
        seconds=seconds,
    )


class PathMeter:
    """Measures a job in place (no live monitor): from `start` (the backdoored model) to
    the job's weights, through one scratch model made on first use."""

    def __init__(self, start: torch.nn.Module, monitor: Monitor, points: int) -> None:
        self.start, self.monitor, self.points = start, monitor, points
        self._scratch: torch.nn.Module | None = None

    def measure(self, model: torch.nn.Module) -> tuple[PathCurve, float]:
        """(the curve from `start` to `model`, its seconds)."""
        t0 = time.perf_counter()
        if self._scratch is None:
            self._scratch = frozen_copy(model)
        curve = path_curve(self.start, model, self._scratch, self.monitor.path_measure, self.points)
        return curve, time.perf_counter() - t0
