"""The attacks on a defended model inside the engine (qra and relearn closing a schedule),
the backdoor-connected path at every phase end and on request, where triggered images go,
and the post-purification numbers as the API, the report and the leaderboard read them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import torch

from unlearnscope.control import MeasurePath
from unlearnscope.events import (
    Evaluation,
    EventBase,
    Measurement,
    PathEvaluated,
    PhaseVisualEvent,
    RunFinished,
)
from unlearnscope.ml.checkpoints import FileModelStore
from unlearnscope.ml.engine import Engine
from unlearnscope.presets import preset_config
from unlearnscope.scores import der, der_retuned, headline, rank_key, ranked_by
from unlearnscope.states import RunStatus

QRA = {
    "kind": "qra", "steps": 3, "lr": 0.01, "batch_size": 16,
    "settings": {"clean_queries": 16, "poisoned_queries": 16, "retune_steps": 2},
}  # fmt: skip
RELEARN = {"kind": "relearn", "steps": 2, "lr": 0.01, "batch_size": 16,
           "settings": {"retune_size": None, "poisoned_count": 5}}  # fmt: skip


def _run(model_cache: Path, schedule: list[dict[str, Any]], **over: Any) -> list[EventBase]:
    cfg = preset_config("tiny", {"schedule": schedule, **over})
    events: list[EventBase] = []
    engine = Engine(cfg, events.append, device="cpu", store=FileModelStore(model_cache))
    assert engine.run() is RunStatus.COMPLETED
    return events


def test_a_defence_closed_by_qra_and_relearn(model_cache: Path) -> None:
    fst = {"kind": "fst", "steps": 3, "lr": 0.01, "batch_size": 16}
    events = _run(model_cache, [fst, QRA, RELEARN])
    evals = {e.label: e for e in events if isinstance(e, Evaluation)}
    done = next(e for e in events if isinstance(e, RunFinished))
    # the defended model is fst's; qra changes no weight, so its end measures nothing
    # again; relearn's is the re-tuned one
    assert done.after["asr"] == evals["phase 1 (fst)"].asr
    assert done.after["ca"] == evals["phase 1 (fst)"].ca
    assert "phase 2 (qra)" not in evals
    paths = [e.label for e in events if isinstance(e, PathEvaluated)]
    assert paths == ["phase 1 (fst)", "phase 3 (relearn)"]
    assert done.retuned is not None and done.retuned["asr"] == evals["phase 3 (relearn)"].asr
    assert done.reactivated is not None
    for key in ("asr", "asr_without", "adversarial"):
        assert 0.0 <= done.reactivated[key] <= 100.0  # type: ignore[operator]
    assert done.reactivated["asr_without"] == pytest.approx(done.after["asr"], abs=1e-3)
    shown = [e for e in events if isinstance(e, PhaseVisualEvent) and e.kind == "qra"]
    assert {v.name for v in shown} == {"perturbation", "reactivation"}
    picture = next(v for v in shown if v.name == "perturbation")
    assert picture.image is not None and len(picture.image) == picture.height * picture.width * 3
    # the headline the compare view and the leaderboard read
    row = headline([e.model_dump() for e in events])
    assert row["asr_qra"] == done.reactivated["asr"]
    assert row["asr_retuned"] == done.retuned["asr"]
    assert row["der_retuned"] == pytest.approx(
        der_retuned(done.before, done.after, row["asr_retuned"])
    )


def test_the_path_is_measured_at_every_phase_end_and_its_ends_are_the_two_models(
    model_cache: Path,
) -> None:
    rec = {"kind": "recovery", "steps": 3, "lr": 0.05, "batch_size": 16}
    events = _run(model_cache, [rec, rec])
    paths = [e for e in events if isinstance(e, PathEvaluated)]
    assert [p.label for p in paths] == ["phase 1 (recovery)", "phase 2 (recovery)"]
    before = next(e for e in events if isinstance(e, Evaluation) and e.label == "before")
    for p in paths:
        assert p.alphas == pytest.approx([i / 10 for i in range(11)])
        assert len(p.asr) == len(p.ca) == 11 and p.seconds > 0
    # alpha 0 is the backdoored model, the same for both; alpha 1 moved
    assert paths[0].asr[0] == paths[1].asr[0] and paths[0].ca[0] == paths[1].ca[0]
    assert before.asr is not None and paths[0].asr[0] is not None
    assert abs(paths[0].asr[0] - before.asr) < 25  # a monitor subset of the same model


def test_the_path_on_request_and_off(model_cache: Path) -> None:
    rec = {"kind": "recovery", "steps": 4, "lr": 0.05, "batch_size": 16}
    cfg = preset_config("tiny", {"schedule": [rec], "monitor": {"path_points": 0}})
    events: list[EventBase] = []
    engine = Engine(cfg, events.append, device="cpu", store=FileModelStore(model_cache))
    engine.prepare()
    engine.step()
    engine.handle(MeasurePath(request_id="r1"))
    while engine.step():
        pass
    paths = [e for e in events if isinstance(e, PathEvaluated)]
    assert [(p.request_id, p.step, len(p.alphas)) for p in paths] == [("r1", 1, 11)]
    assert paths[0].label == "on request at step 1"


def test_triggered_classes_count_every_triggered_image(model_cache: Path) -> None:
    rec = {"kind": "recovery", "steps": 5, "lr": 0.05, "batch_size": 16}
    events = _run(model_cache, [rec], monitor={"budget": 0, "eval_every": 5})
    evals = [e for e in events if isinstance(e, Evaluation)]
    for e in evals:
        assert e.triggered_classes is not None and sum(e.triggered_classes) == e.n_triggered
        assert e.asr is not None
        target = preset_config("tiny", {}).attack.target_class
        share = 100 * e.triggered_classes[target] / e.n_triggered
        assert share == pytest.approx(e.asr, abs=1e-3)
    measured = [e for e in events if isinstance(e, Measurement) and e.asr is not None]
    assert measured and all(e.triggered_classes and sum(e.triggered_classes) > 0 for e in measured)


def test_der_after_retuning_and_the_leaderboard_ranks_by_it_when_present() -> None:
    before, after = {"asr": 100.0, "ca": 90.0}, {"asr": 0.0, "ca": 90.0}
    assert der(before, after) == pytest.approx(1.0)
    assert der_retuned(before, after, 100.0) == pytest.approx(0.5)  # it all came back
    assert der_retuned(before, after, None) is None
    rows: list[dict[str, Any]] = [
        {"der": 1.0, "der_retuned": 0.5, "asr_after": 0.0, "ca_after": 90.0},
        {"der": 0.95, "der_retuned": 0.9, "asr_after": 5.0, "ca_after": 90.0},
        {"der": 0.99, "asr_after": 1.0, "ca_after": 90.0},
    ]
    assert ranked_by(rows) == "der_retuned" and ranked_by(rows[2:]) == "der"
    order = sorted(range(3), key=lambda i: rank_key(rows[i], ranked_by(rows)))
    assert order == [1, 0, 2]  # robust first; unmeasured last
    assert sorted(range(3), key=lambda i: rank_key(rows[i])) == [0, 2, 1]


def test_qra_leaves_the_weights_alone(model_cache: Path) -> None:
    cfg = preset_config("tiny", {"schedule": [QRA]})
    engine = Engine(cfg, lambda e: None, device="cpu", store=FileModelStore(model_cache))
    engine.prepare()
    before = {k: v.clone() for k, v in engine.model.state_dict().items()}
    while engine.step():
        pass
    after = engine.model.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)


def test_the_live_monitor_measures_the_same_path_as_the_training_loop(model_cache: Path) -> None:
    rec = {"kind": "recovery", "steps": 3, "lr": 0.05, "batch_size": 16}
    paths = []
    for budget in (0.0, 0.5):  # in the loop; beside training, within the monitor's share
        events = _run(model_cache, [rec], monitor={"budget": budget})
        (path,) = [e for e in events if isinstance(e, PathEvaluated)]
        paths.append(path)
    loop, live = paths
    assert live.step == loop.step == 3 and live.label == loop.label
    assert live.ca == pytest.approx(loop.ca, abs=0.5)
    assert live.asr == pytest.approx(loop.asr, abs=0.5)
