"""A run's closing numbers: the evaluations RunFinished reports as before, after, retuned.

A trailing run of `relearn` phases is the retuning attack on the defended model (Min et
al., NeurIPS 2024): `after` is the model before it (the last other phase's evaluation, or
the backdoored model when the schedule is only relearn), `retuned` the model after it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from ...config import PhaseConfig
from ...events import Evaluation


def summary(e: Evaluation) -> dict[str, float | None]:
    """The numbers of an evaluation that RunFinished carries."""
    return {
        "ca": e.ca,
        "asr": e.asr,
        "ra": e.ra,
        "tar_median": e.tar_median,
        "tar_mean": e.tar_mean,
    }


def split_retuning(
    schedule: Sequence[PhaseConfig],
    before: Evaluation,
    phase_evals: Mapping[int, Evaluation],
    final: Evaluation,
) -> tuple[Evaluation, dict[str, float | None] | None]:
    """(the evaluation of the defended model, the summary after re-tuning or None)."""
    first_relearn = len(schedule)
    while first_relearn > 0 and schedule[first_relearn - 1].kind == "relearn":
        first_relearn -= 1
    if first_relearn == len(schedule):
        return final, None
    after = phase_evals.get(first_relearn - 1, before) if first_relearn > 0 else before
    return after, summary(final)
