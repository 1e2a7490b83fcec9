"""nad, sam, ibau and relearn inside the engine: pause, resume, stop and a schedule edit
in the middle of each; a schedule mixing kinds end to end; forget_size 0."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from unlearnscope.control import EditSchedule, Pause, Resume, Stop
from unlearnscope.events import (
    Evaluation,
    EventBase,
    PhaseEnd,
    PhaseVisualEvent,
    RunFinished,
    ScheduleEdit,
    StepMetrics,
)
from unlearnscope.ml.checkpoints import FileModelStore
from unlearnscope.ml.engine import Engine
from unlearnscope.presets import ConfigError, build_config, preset_config
from unlearnscope.states import RunStatus

SMALL: dict[str, dict[str, Any]] = {
    "nad": {"teacher_steps": 2},
    "sam": {"rho": 0.5},
    "ibau": {"inner_steps": 2, "outer_steps": 2, "visual_every": 1},
    "relearn": {"retune_size": 32},
}


def _phase(kind: str, steps: int = 6, **over: Any) -> dict[str, Any]:
    return {
        "kind": kind,
        "steps": steps,
        "lr": 0.01,
        "batch_size": 16,
        "settings": SMALL[kind],
        **over,
    }


def _engine(
    model_cache: Path, schedule: list[dict[str, Any]], **over: Any
) -> tuple[Engine, list[EventBase]]:
    cfg = preset_config("tiny", {"schedule": schedule, **over})
    events: list[EventBase] = []
    engine = Engine(cfg, events.append, device="cpu", store=FileModelStore(model_cache))
    engine.prepare()
    return engine, events


@pytest.mark.parametrize("kind", list(SMALL))
def test_pause_resume_and_an_edit_in_the_middle_of_a_phase(model_cache: Path, kind: str) -> None:
    engine, events = _engine(model_cache, [_phase(kind)])
    assert engine.step() and engine.step()
    engine.handle(Pause())
    assert engine.state is RunStatus.PAUSED and not engine.step()
    engine.handle(Resume())
    # mid-phase: a new lr and one step fewer; a change of kind is refused
    edited = [_phase(kind, steps=5, lr=0.002)]
    engine.handle(EditSchedule(schedule=edited))
    other = "sam" if kind != "sam" else "nad"
    engine.handle(EditSchedule(schedule=[_phase(other)]))
    edits = [e for e in events if isinstance(e, ScheduleEdit)]
    assert edits[0].accepted and not edits[1].accepted and "kind cannot change" in edits[1].reason
    while engine.step():
        pass
    assert engine.state is RunStatus.COMPLETED
    steps = [e for e in events if isinstance(e, StepMetrics)]
    assert [s.lr for s in steps] == [0.01, 0.01, 0.002, 0.002, 0.002]
    assert all(s.kind == kind and s.losses for s in steps)
    end = next(e for e in events if isinstance(e, PhaseEnd))
    assert end.reason == "completed" and end.steps == 5


@pytest.mark.parametrize("kind", list(SMALL))
def test_stop_in_the_middle_of_a_phase(model_cache: Path, kind: str) -> None:
    engine, events = _engine(model_cache, [_phase(kind)])
    for _ in range(3):
        engine.step()
    n_visuals = sum(isinstance(e, PhaseVisualEvent) for e in events)
    engine.handle(Stop())
    assert engine.state is RunStatus.STOPPED and not engine.step()
    end = next(e for e in events if isinstance(e, PhaseEnd))
    assert end.reason == "stopped" and end.steps == 3
    assert sum(isinstance(e, PhaseVisualEvent) for e in events) == n_visuals  # no finish()
    assert not any(isinstance(e, RunFinished) for e in events)


def test_a_schedule_mixing_kinds_runs_end_to_end(model_cache: Path) -> None:
    schedule = [
        {"kind": "ascent", "steps": 2, "lr": 0.01, "batch_size": 16},
        _phase("nad", steps=4),
        _phase("sam", steps=2),
        _phase("ibau", steps=4),
        _phase("relearn", steps=3),
    ]
    engine, events = _engine(model_cache, schedule)
    assert engine.run() is RunStatus.COMPLETED
    kinds = [e.kind for e in events if isinstance(e, StepMetrics)]
    assert kinds == ["ascent"] * 2 + ["nad"] * 4 + ["sam"] * 2 + ["ibau"] * 4 + ["relearn"] * 3
    visuals = [e for e in events if isinstance(e, PhaseVisualEvent)]
    assert visuals and {v.kind for v in visuals} == {"ibau"}
    v = visuals[-1]
    assert v.image is not None and len(v.image) == v.height * v.width * 3 == 32 * 32 * 3
    assert "l2_norm" in v.scalars and v.text
    evals = {e.label: e for e in events if isinstance(e, Evaluation)}
    done = events[-2]
    assert isinstance(done, RunFinished) and done.retuned is not None
    assert done.after["asr"] == evals["phase 4 (ibau)"].asr  # the defended model
    assert done.retuned["asr"] == evals["phase 5 (relearn)"].asr  # after the retuning


def test_without_a_trailing_relearn_after_is_the_final_model(model_cache: Path) -> None:
    engine, events = _engine(model_cache, [_phase("relearn", 2), _phase("sam", 2)])
    assert engine.run() is RunStatus.COMPLETED
    done = next(e for e in events if isinstance(e, RunFinished))
    final = [e for e in events if isinstance(e, Evaluation)][-1]
    assert done.retuned is None and done.after["asr"] == final.asr


def test_forget_size_zero_runs_clean_only_kinds_and_refuses_ascent(model_cache: Path) -> None:
    engine, events = _engine(
        model_cache,
        [_phase("nad", 3), _phase("ibau", 2), _phase("relearn", 2)],
        defense={"forget_size": 0},
    )
    assert len(engine.prepared.phase_data.forget) == 0  # type: ignore[union-attr]
    # an edit that brings in a forget-set phase is refused, naming it
    engine.handle(
        EditSchedule(schedule=[_phase("nad", 3), {"kind": "ascent", "steps": 2, "lr": 0.01}])
    )
    refused = next(e for e in events if isinstance(e, ScheduleEdit))
    assert not refused.accepted and "schedule.1 (ascent) needs the forget set" in refused.reason
    assert engine.run() is RunStatus.COMPLETED
    with pytest.raises(ConfigError, match=r"schedule\.1 \(ascent\) needs the forget set"):
        build_config(
            "tiny",
            {
                "defense": {"forget_size": 0},
                "schedule": [_phase("nad"), {"kind": "ascent", "steps": 2, "lr": 0.01}],
            },
        )
    with pytest.raises(ConfigError, match=r"schedule\.0 \(recovery\) needs the forget set"):
        build_config(
            "tiny",
            {
                "defense": {"forget_size": 0},
                "schedule": [{"kind": "recovery", "steps": 2, "lr": 0.01, "forget_weight": 1.0}],
            },
        )
