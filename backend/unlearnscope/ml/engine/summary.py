"""A run's closing numbers: the evaluations RunFinished reports as before, after, retuned.

A trailing run of attack phases (`relearn`, the retuning attack; `qra`, the reactivation
attack: PhaseKind.attack; Min et al., NeurIPS 2024) plays the attacker on the defended
model: `after` is the model before them (the last other phase's evaluation, or the
backdoored model when the schedule is only attacks), `retuned` the model after them when
one of them re-tuned it (relearn; qra changes no weight).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from ...config import PhaseConfig
from ...events import Evaluation
from ..kinds.registry import PHASE_KINDS, canonical_kind


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
    first = len(schedule)
    while first > 0 and PHASE_KINDS[canonical_kind(schedule[first - 1].kind)].attack:
        first -= 1
    if first == len(schedule):
        return final, None
    after = phase_evals.get(first - 1, before) if first > 0 else before
    retuned = any(ph.kind == "relearn" for ph in schedule[first:])
    return after, summary(final) if retuned else None
