"""A schedule that starts with a detection phase: the forget set is what it flagged, the
run is controlled inside the detection phase like any other, and with the oracle off the
engine never reads which samples are truly poisoned."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import torch
from pydantic import ValidationError

from unlearnscope.config import RunConfig
from unlearnscope.events import (
    ForgetSetFound,
    PhaseVisualEvent,
    RunStarted,
    ScheduleEdit,
    StepMetrics,
)
from unlearnscope.ml.checkpoints import FileModelStore
from unlearnscope.ml.engine import Engine
from unlearnscope.presets import preset_config
from unlearnscope.states import RunStatus

DETECTORS = ["spectral", "ac", "abl", "scan"]


# The tiny preset's model is barely trained, so SCAn's class test is loosened to flag there.
SETTINGS: dict[str, dict[str, Any]] = {"scan": {"threshold": 0.5}}


def detect_then_unlearn(kind: str, settings: dict[str, Any] | None = None) -> dict[str, Any]:
    return {
        "defense": {"oracle": "off"},
        "schedule": [
            {
                "kind": kind,
                "steps": 3,
                "lr": 0.01,
                "batch_size": 128,
                "settings": SETTINGS.get(kind, {}) if settings is None else settings,
            },
            {"kind": "ascent", "steps": 3, "lr": 0.01, "batch_size": 16, "ewc_lambda": 10.0},
            {"kind": "recovery", "steps": 2, "lr": 0.01, "batch_size": 16, "forget_weight": 1.0},
        ],
    }


def make_engine(cache: Path, overrides: dict[str, Any]) -> tuple[Engine, list[Any]]:
    events: list[Any] = []
    engine = Engine(
        preset_config("tiny", overrides), events.append, device="cpu", store=FileModelStore(cache)
    )
    return engine, events


def of_type(events: list[Any], cls: type) -> list:
    return [e for e in events if isinstance(e, cls)]


@pytest.mark.parametrize("kind", DETECTORS)
def test_the_flagged_samples_become_the_forget_set(model_cache: Path, kind: str) -> None:
    engine, events = make_engine(model_cache, detect_then_unlearn(kind))
    engine.prepare()
    started = of_type(events, RunStarted)[0]
    assert started.forget_source == "none" and started.forget_size == 0
    assert started.truth_known and started.training_size == 600
    p = engine.prepared
    assert p is not None and p.phase_data.pool is not None and len(p.phase_data.forget) == 0
    while engine.step():
        pass
    assert engine.state is RunStatus.COMPLETED
    found = of_type(events, ForgetSetFound)
    assert len(found) == 1 and found[0].kind == kind and found[0].phase_index == 0
    idx = torch.tensor(found[0].indices, dtype=torch.long)
    forget = p.phase_data.forget
    assert torch.equal(forget.images, p.phase_data.pool.images[idx])
    assert torch.equal(forget.labels, p.phase_data.pool.labels[idx])
    # quality against the truth, shown (the truth is known: the backdoor was planted here)
    truth = p.truth
    assert truth is not None and found[0].poisoned == int(truth.sum())
    assert found[0].true_flagged == int(truth[idx].sum())
    hist = [e for e in of_type(events, PhaseVisualEvent) if e.name == "detection_scores"]
    assert len(hist) == 1
    # every image is in the histogram, or, for a detector that judges classes first, every
    # image of the classes it judged poisoned
    shown = torch.ones(600, dtype=torch.bool)
    if kind in ("ac", "scan") and found[0].suspect_classes:
        shown = torch.isin(p.phase_data.pool.labels, torch.tensor(found[0].suspect_classes))
    assert sum(hist[0].values["poisoned"]) == int(truth[shown].sum())
    assert sum(hist[0].values["clean"]) + sum(hist[0].values["poisoned"]) == int(shown.sum())
    classes = [e for e in of_type(events, PhaseVisualEvent) if e.name == "class_test"]
    assert len(classes) == (1 if kind in ("ac", "scan") else 0)
    steps = of_type(events, StepMetrics)
    assert [s.kind for s in steps] == [kind] * 3 + ["ascent"] * 3 + ["recovery"] * 2


class Untouchable:
    """Stands in for the record of which samples are poisoned: any use fails the run."""

    def __getattr__(self, name: str) -> Any:
        raise AssertionError(f"the engine read the poisoned set ({name}) with the oracle off")


def run_blind(cache: Path, truth: torch.Tensor | None) -> tuple[list[Any], Engine]:
    engine, events = make_engine(cache, detect_then_unlearn("spectral"))
    engine.prepare()
    p = engine.prepared
    assert p is not None
    p.train = Untouchable()  # type: ignore[assignment]
    engine._truth = truth
    while engine.step():
        pass
    assert engine.state is RunStatus.COMPLETED, [e for e in events if e.type == "error"]
    return events, engine


def test_with_the_oracle_off_the_truth_changes_nothing_but_the_shown_quality(
    model_cache: Path,
) -> None:
    real, engine = run_blind(model_cache, truth=None)  # no truth at all
    n = engine.prepared.phase_data.pool.labels.shape[0]  # type: ignore[union-attr]
    fake = torch.zeros(n, dtype=torch.bool)
    fake[torch.randperm(n, generator=torch.Generator().manual_seed(3))[:77]] = True
    other, _ = run_blind(model_cache, truth=fake)  # a made-up truth
    a, b = of_type(real, ForgetSetFound)[0], of_type(other, ForgetSetFound)[0]
    assert a.indices == b.indices  # the same samples flagged
    assert not a.truth_known and a.precision is None
    assert b.truth_known and b.poisoned == 77
    losses_a = [s.loss for s in of_type(real, StepMetrics)]
    losses_b = [s.loss for s in of_type(other, StepMetrics)]
    assert losses_a == losses_b  # the same unlearning, step for step


def test_pause_resume_and_an_edit_inside_the_detection_phase(model_cache: Path) -> None:
    engine, events = make_engine(model_cache, detect_then_unlearn("abl"))
    engine.prepare()
    engine.step()
    engine.handle({"op": "pause"})
    assert engine.state is RunStatus.PAUSED and not engine.step()
    engine.handle({"op": "resume"})
    engine.step()  # 2 of 3 search steps
    new = [p.model_dump() for p in engine.schedule]
    new[0]["steps"] = 2  # end the search here: the rest of the pool is searched at its end
    new[1]["steps"] = 2
    engine.handle({"op": "edit_schedule", "schedule": new, "request_id": "e1"})
    edit = of_type(events, ScheduleEdit)[-1]
    assert edit.accepted, edit.reason
    found = of_type(events, ForgetSetFound)
    assert len(found) == 1 and found[0].training_size == 600
    assert len(found[0].indices) == 6  # ABL: 1% of 600
    assert engine.phase_index == 1 and len(engine.prepared.phase_data.forget) == 6  # type: ignore[union-attr]
    while engine.step():
        pass
    assert engine.state is RunStatus.COMPLETED
    assert [s.kind for s in of_type(events, StepMetrics)] == ["abl"] * 2 + ["ascent"] * 2 + [
        "recovery"
    ] * 2


def test_an_edit_that_puts_unlearning_before_any_detection_is_refused(model_cache: Path) -> None:
    overrides = detect_then_unlearn("spectral")
    overrides["schedule"].insert(0, {"kind": "recovery", "steps": 2, "lr": 0.01, "batch_size": 16})
    engine, events = make_engine(model_cache, overrides)
    engine.prepare()
    engine.step()
    new = [p.model_dump() for p in engine.schedule]
    new[1], new[2] = new[2], new[1]  # ascent before spectral
    engine.handle({"op": "edit_schedule", "schedule": new, "request_id": "e2"})
    edit = of_type(events, ScheduleEdit)[-1]
    assert not edit.accepted and "needs the forget set" in edit.reason
    engine.handle({"op": "stop"})
    assert engine.state is RunStatus.STOPPED
    assert of_type(events, ForgetSetFound) == []


def test_a_detection_that_flags_nothing_ends_the_run_with_a_reason(model_cache: Path) -> None:
    never = {"size_threshold": 0.0001, "silhouette_threshold": 1.0}
    engine, events = make_engine(model_cache, detect_then_unlearn("ac", never))
    assert engine.run() is RunStatus.FAILED
    found = of_type(events, ForgetSetFound)
    assert len(found) == 1 and found[0].indices == []
    status = [e for e in events if e.type == "status"][-1]
    assert "schedule.1 (ascent) needs the forget set" in status.message
    assert "flagged no training samples" in status.message


def test_a_stop_inside_the_detection_phase_finds_nothing(model_cache: Path) -> None:
    engine, events = make_engine(model_cache, detect_then_unlearn("scan"))
    engine.prepare()
    engine.step()
    engine.handle({"op": "stop"})
    assert engine.state is RunStatus.STOPPED and of_type(events, ForgetSetFound) == []


def test_config_needs_a_detection_before_unlearning_when_the_oracle_is_off() -> None:
    base = preset_config("tiny").model_dump()
    with pytest.raises(ValidationError) as err:
        RunConfig.model_validate({**base, "defense": {**base["defense"], "oracle": "off"}})
    text = str(err.value)
    assert "schedule.0 (ascent) needs the forget set" in text
    assert "oracle is off" in text and "spectral" in text
    ok = RunConfig.model_validate({**base, **detect_then_unlearn("spectral")})
    assert not ok.oracle and not ok.forget_given
    assert preset_config("tiny").oracle  # a backdoor planted here: the oracle by default
