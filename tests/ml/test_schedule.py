from __future__ import annotations

import pytest

from unlearnscope.config import PhaseConfig
from unlearnscope.ml.schedule import ScheduleEditError, apply_edit

A = PhaseConfig(kind="ascent", steps=10, lr=0.01)
R = PhaseConfig(kind="recovery", steps=20, lr=0.01)


def dump(*phases: PhaseConfig) -> list[dict]:
    return [p.model_dump() for p in phases]


def test_future_phases_can_change_and_be_appended() -> None:
    longer = R.model_copy(update={"steps": 30})
    new = apply_edit([A, R], dump(A, longer, A), index=0, done=3)
    assert [p.steps for p in new] == [10, 30, 10]


def test_current_phase_steps_and_lr_can_change() -> None:
    new = apply_edit([A, R], dump(A.model_copy(update={"steps": 5, "lr": 0.02}), R), 0, 3)
    assert new[0].steps == 5 and new[0].lr == 0.02


def test_past_phase_is_refused_with_reason() -> None:
    with pytest.raises(ScheduleEditError, match=r"phase 1 .* already over"):
        apply_edit([A, R], dump(A.model_copy(update={"lr": 0.5}), R), index=1, done=2)


def test_current_phase_cannot_go_below_steps_done() -> None:
    with pytest.raises(ScheduleEditError, match="steps must be >= 7"):
        apply_edit([A, R], dump(A.model_copy(update={"steps": 6}), R), index=0, done=7)


def test_started_phase_keeps_its_kind_but_unstarted_may_change() -> None:
    with pytest.raises(ScheduleEditError, match="kind cannot change"):
        apply_edit([A, R], dump(R, R), index=0, done=1)
    assert apply_edit([A, R], dump(R, R), index=0, done=0)[0].kind == "recovery"


def test_dropping_the_current_phase_is_refused() -> None:
    with pytest.raises(ScheduleEditError, match="must keep phases 1-2"):
        apply_edit([A, R], dump(A), index=1, done=0)


def test_invalid_phase_values_name_the_field() -> None:
    bad = dump(A, R)
    bad[1]["lr"] = -1
    with pytest.raises(ScheduleEditError, match=r"schedule\.1\.lr"):
        apply_edit([A, R], bad, index=0, done=1)
    bad = dump(A, R)
    bad[1]["kind"] = "prune-everything"
    with pytest.raises(ScheduleEditError, match=r"schedule\.1\.kind"):
        apply_edit([A, R], bad, index=0, done=1)
