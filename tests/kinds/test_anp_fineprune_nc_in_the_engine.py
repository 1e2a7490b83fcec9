"""anp, fineprune and nc inside the engine: what one step changes (and what it does
not), their visuals, pause / resume / stop / a schedule edit in the middle of each, and
bad settings refused naming the field."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import torch
from fastapi.testclient import TestClient

from unlearnscope.api.app import create_app
from unlearnscope.api.service.workers import Workers
from unlearnscope.control import EditSchedule, Pause, Resume, Stop
from unlearnscope.events import (
    EventBase,
    PhaseEnd,
    PhaseVisualEvent,
    RunFinished,
    ScheduleEdit,
    StatusEvent,
    StepMetrics,
)
from unlearnscope.ml.checkpoints import FileModelStore
from unlearnscope.ml.engine import Engine
from unlearnscope.presets import ConfigError, build_config, preset_config
from unlearnscope.settings import Settings
from unlearnscope.states import RunStatus

SMALL: dict[str, dict[str, Any]] = {
    "anp": {},
    "fineprune": {},
    "nc": {"steps_per_class": 1},  # 10 classes: 10 inversion steps
}
STEPS = {"anp": 6, "fineprune": 6, "nc": 14}


def _phase(kind: str, steps: int | None = None, **over: Any) -> dict[str, Any]:
    return {
        "kind": kind,
        "steps": steps or STEPS[kind],
        "lr": 0.2 if kind == "anp" else 0.01,
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


def _state(engine: Engine) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in engine.model.state_dict().items()}


def _finite(engine: Engine) -> bool:
    return all(torch.isfinite(v.float()).all() for v in engine.model.state_dict().values())


def test_anp_mask_steps_leave_the_model_alone_and_pruning_zeroes_only_bn_weights(
    model_cache: Path,
) -> None:
    # a low threshold of 1.0 prunes every neuron whose mask moved below 1 at all
    engine, events = _engine(model_cache, [_phase("anp", 4, settings={"threshold": 1.0})])
    start = _state(engine)
    for _ in range(3):
        assert engine.step()
        for name, tensor in engine.model.state_dict().items():
            torch.testing.assert_close(tensor, start[name], msg=name)  # weights untouched
    hist = [e for e in events if isinstance(e, PhaseVisualEvent) and e.name == "mask_histogram"]
    assert hist and set(hist[-1].values) == {"edges", "counts"}
    assert sum(hist[-1].values["counts"]) == hist[-1].scalars["neurons"]
    steps = [e for e in events if isinstance(e, StepMetrics)]
    assert {"natural", "perturbed"} <= set(steps[-1].losses) and steps[-1].grad_norm == 0.0
    assert not engine.step()  # the last step ends the phase: finish() prunes
    assert _finite(engine)
    after = engine.model.state_dict()
    changed = {k for k in after if not torch.equal(after[k], start[k])}
    assert changed and all(k.endswith(".weight") for k in changed)
    pruned = 0
    for name in changed:
        bn = engine.model.get_submodule(name.removesuffix(".weight"))
        assert isinstance(bn, torch.nn.BatchNorm2d)
        diff = after[name] != start[name]
        assert (after[name][diff] == 0).all()  # changed entries are pruned to 0
        pruned += int(diff.sum())
    final = [e for e in events if isinstance(e, PhaseVisualEvent) and e.name == "mask_histogram"]
    assert final[-1].scalars["pruned"] >= pruned > 0
    assert "pruned" in final[-1].text
    # the per-layer bars are named in words, one name per layer, in order
    per_layer = [e for e in events if isinstance(e, PhaseVisualEvent) and e.name == "pruned"]
    assert len(per_layer[-1].ticks) == len(per_layer[-1].values["pruned"]) > 0
    assert all(t.startswith(("layer", "first")) for t in per_layer[-1].ticks)
    # hooks are gone: the model's forward is the plain one again
    assert all(not m._forward_hooks for m in engine.model.modules())


def test_fineprune_prunes_at_the_first_step_then_fine_tunes_keeping_them_pruned(
    model_cache: Path,
) -> None:
    engine, events = _engine(
        model_cache, [_phase("fineprune", 4, settings={"max_acc_drop": 100.0, "max_ratio": 0.5})]
    )
    fc: Any = engine.model.get_submodule("net.fc")  # the classifier layer (nn.Linear)
    before_fc = fc.weight.detach().clone()
    start = _state(engine)
    assert engine.step()  # the pruning step
    zeroed = (fc.weight == 0).all(0) & ~(before_fc == 0).all(0)
    assert int(zeroed.sum()) == fc.in_features // 2  # max_ratio 0.5 with no accuracy bound
    after = engine.model.state_dict()
    assert {k for k in after if not torch.equal(after[k], start[k])} == {"net.fc.weight"}
    visual = next(e for e in events if isinstance(e, PhaseVisualEvent) and e.name == "pruned")
    assert visual.scalars["pruned"] == fc.in_features // 2 and "pruned" in visual.text
    while engine.step():
        pass
    assert engine.state is RunStatus.COMPLETED and _finite(engine)
    assert (fc.weight[:, zeroed] == 0).all()  # fine-tuning kept them pruned
    assert not torch.equal(fc.weight[:, ~zeroed], before_fc[:, ~zeroed])  # the rest learnt


def test_nc_reverse_engineers_every_class_then_unlearns(model_cache: Path) -> None:
    engine, events = _engine(model_cache, [_phase("nc", 12)])
    start = _state(engine)
    for _ in range(10):  # 10 classes x 1 step: no weight changes
        assert engine.step()
    after = engine.model.state_dict()
    assert all(torch.equal(after[k], start[k]) for k in after)
    triggers = [
        e for e in events if isinstance(e, PhaseVisualEvent) and e.name == "recovered_trigger"
    ]
    t = triggers[9]  # the last class's
    assert t.image is not None and len(t.image) == t.height * t.width * 3 == 32 * 32 * 3
    assert "iou" in t.scalars and 0 <= t.scalars["iou"] <= 1  # the attack is known here
    norms = [e for e in events if isinstance(e, PhaseVisualEvent) and e.name == "mask_norms"]
    assert len(norms[-1].values["mask L1 norm"]) == 10
    assert norms[-1].values["labels"] == [float(c) for c in range(10)]  # the bars' classes
    anomaly = next(
        e for e in events if isinstance(e, PhaseVisualEvent) and e.name == "anomaly_index"
    )
    assert len(anomaly.values["anomaly index"]) == 10 and "flagged" in anomaly.text
    # then the trigger the unlearning stamps (the first flagged class's), if any
    assert len(triggers) == 10 + (anomaly.scalars["flagged"] > 0)
    assert engine.step()  # an unlearning step: the weights move
    after = engine.model.state_dict()
    assert any(not torch.equal(after[k], start[k]) for k in after)
    assert not engine.step() and engine.state is RunStatus.COMPLETED and _finite(engine)


def test_nc_with_detection_smallest_unlearns_the_smallest_trigger(model_cache: Path) -> None:
    settings = {"steps_per_class": 1, "detection": "smallest"}
    engine, events = _engine(model_cache, [_phase("nc", 11, settings=settings)])
    for _ in range(10):
        assert engine.step()
    visuals = [e for e in events if isinstance(e, PhaseVisualEvent)]
    norms = [e for e in visuals if e.name == "mask_norms"][-1].values["mask L1 norm"]
    smallest = min(range(10), key=lambda c: norms[c])
    anomaly = [e for e in visuals if e.name == "anomaly_index"][-1]
    assert f"unlearning the smallest trigger, class {smallest}" in anomaly.text
    shown = [e for e in visuals if e.name == "recovered_trigger"][-1]
    assert shown.scalars["class"] == smallest and "the unlearning stamps" in shown.text
    assert shown.image is not None and shown.scalars["mask_l1"] == pytest.approx(norms[smallest])
    start = _state(engine)
    assert not engine.step() and engine.state is RunStatus.COMPLETED and _finite(engine)
    after = engine.model.state_dict()
    assert any(not torch.equal(after[k], start[k]) for k in after)  # unlearning moved it


def test_nc_without_steps_for_every_class_is_refused_before_anything_runs(
    model_cache: Path,
) -> None:
    cfg = preset_config("tiny", {"schedule": [_phase("nc", 10)]})  # 10 classes x 1 step
    events: list[EventBase] = []
    engine = Engine(cfg, events.append, device="cpu", store=FileModelStore(model_cache))
    assert engine.run() is RunStatus.FAILED
    assert engine.step_count == 0
    failed = [e for e in events if isinstance(e, StatusEvent)][-1]
    assert "nc reverse-engineers 10 classes x 1 steps = 10 steps" in failed.message
    assert "the data has 10 classes" in failed.message


def test_nc_cut_short_by_an_edit_before_all_classes_says_so(model_cache: Path) -> None:
    engine, events = _engine(model_cache, [_phase("nc")])
    for _ in range(3):
        assert engine.step()
    engine.handle(EditSchedule(schedule=[_phase("nc", 3)]))  # an edit may cut it short
    assert not engine.step() and engine.state is RunStatus.COMPLETED
    last = [e for e in events if isinstance(e, PhaseVisualEvent)][-1]
    assert last.name == "anomaly_index" and "3 of 10 classes" in last.text


@pytest.mark.parametrize("kind", list(SMALL))
def test_pause_resume_and_an_edit_in_the_middle_of_a_phase(model_cache: Path, kind: str) -> None:
    engine, events = _engine(model_cache, [_phase(kind)])
    assert engine.step() and engine.step()
    engine.handle(Pause())
    assert engine.state is RunStatus.PAUSED and not engine.step()
    engine.handle(Resume())
    n = STEPS[kind] - 1
    engine.handle(EditSchedule(schedule=[_phase(kind, n, lr=0.002)]))
    other = "anp" if kind != "anp" else "fineprune"
    engine.handle(EditSchedule(schedule=[_phase(other)]))
    edits = [e for e in events if isinstance(e, ScheduleEdit)]
    assert edits[0].accepted and not edits[1].accepted
    while engine.step():
        pass
    assert engine.state is RunStatus.COMPLETED and _finite(engine)
    steps = [e for e in events if isinstance(e, StepMetrics)]
    assert [s.lr for s in steps] == [steps[0].lr] * 2 + [0.002] * (n - 2)
    assert all(s.kind == kind and s.losses for s in steps)
    end = next(e for e in events if isinstance(e, PhaseEnd))
    assert end.reason == "completed" and end.steps == n
    assert any(isinstance(e, RunFinished) for e in events)


@pytest.mark.parametrize("kind", list(SMALL))
def test_stop_in_the_middle_of_a_phase_does_not_finish_it(model_cache: Path, kind: str) -> None:
    engine, events = _engine(model_cache, [_phase(kind)])
    for _ in range(3):
        engine.step()
    n_visuals = sum(isinstance(e, PhaseVisualEvent) for e in events)
    engine.handle(Stop())
    assert engine.state is RunStatus.STOPPED and not engine.step()
    end = next(e for e in events if isinstance(e, PhaseEnd))
    assert end.reason == "stopped" and end.steps == 3
    assert sum(isinstance(e, PhaseVisualEvent) for e in events) == n_visuals  # no finish()
    assert _finite(engine)


def test_an_edit_that_ends_the_anp_phase_prunes(model_cache: Path) -> None:
    engine, events = _engine(model_cache, [_phase("anp", 6, settings={"threshold": 1.0})])
    assert engine.step() and engine.step()
    engine.handle(EditSchedule(schedule=[_phase("anp", 2, settings={"threshold": 1.0})]))
    end = next(e for e in events if isinstance(e, PhaseEnd))
    assert end.steps == 2
    final = [e for e in events if isinstance(e, PhaseVisualEvent) and e.name == "mask_histogram"]
    assert "pruned" in final[-1].text and final[-1].scalars["pruned"] > 0


@pytest.mark.parametrize(
    ("settings", "field"),
    [
        ({"kind": "anp", "settings": {"eps": 2.0}}, "schedule.0.settings.eps"),
        ({"kind": "anp", "settings": {"threshold": -0.1}}, "schedule.0.settings.threshold"),
        ({"kind": "fineprune", "settings": {"max_ratio": 0}}, "schedule.0.settings.max_ratio"),
        ({"kind": "nc", "settings": {"classes": []}}, "schedule.0.settings.classes"),
        ({"kind": "nc", "settings": {"classes": "some"}}, "schedule.0.settings.classes"),
        ({"kind": "nc", "settings": {"nope": 1}}, "schedule.0.settings.nope"),
    ],
)
def test_bad_settings_are_refused_naming_the_field(settings: dict[str, Any], field: str) -> None:
    phase = {"steps": 5, "lr": 0.01, **settings}
    with pytest.raises(ConfigError) as err:
        build_config("tiny", {"schedule": [phase]})
    assert any(f.startswith(field) for f in err.value.fields), err.value.fields


def test_bad_settings_give_422_naming_the_field(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(Workers, "launch", lambda self, run_id: None)
    settings = Settings(home=tmp_path / "home", device="cpu", allowed_hosts=["testserver"])
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        for kind, bad in (("anp", {"alpha": 1.5}), ("fineprune", {"holdout_fraction": 1.0}),
                          ("nc", {"steps_per_class": 0})):
            body = {"schedule": [{"kind": kind, "steps": 5, "lr": 0.01, "settings": bad}]}
            r = client.post("/api/runs?preset=tiny", json=body)
            assert r.status_code == 422, r.text
            assert f"schedule.0.settings.{next(iter(bad))}" in r.json()["fields"]
