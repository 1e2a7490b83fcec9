"""The report of a run on a user's model whose trigger was unknown until Neural Cleanse
recovered it: the verdict compares like with like (both with the recovered trigger), and
the page says where the model and the trigger came from."""

from __future__ import annotations

from typing import Any

from unlearnscope.events import Evaluation, RunFinished, RunStarted, StatusEvent, TriggerFound
from unlearnscope.report.data import gather
from unlearnscope.report.sections import what_was_done
from unlearnscope.report.verdict import result

CONFIG: dict[str, Any] = {
    "data": {"name": "imagefolder", "image_size": 32},
    "model": {"name": "resnet18", "source": "file", "file": "/data/uploads/ab/resnet18.pt"},
    "attack": {"kind": "badnets", "known": False},
    "defense": {"forget_size": 500, "clean_fraction": 0.05},
    "schedule": [{"kind": "nc", "steps": 600}],
}


def _evaluation(step: int, label: str, asr: float | None, ca: float) -> Evaluation:
    return Evaluation(step=step, label=label, ca=ca, asr=asr, tar_median=None, tar_mean=None,
                      mass_fraction=None, n_clean=100, n_triggered=0 if asr is None else 90)


def test_a_recovered_trigger_run_reports_like_with_like() -> None:
    classes = ["airplane", "automobile"]
    events = [
        RunStarted(device="cpu", model="resnet18", n_params=11_000_000, dataset="imagefolder",
                   classes=classes, target_class=None, total_steps=600, schedule=[],
                   trigger_box=None, image_size=32, trigger_source="unknown"),
        _evaluation(0, "before", None, 90.0),
        TriggerFound(step=500, phase_index=0, kind="nc", source="recovered by nc (phase 1)",
                     target_class=0, trigger_region="trigger patch (its mask)"),
        _evaluation(0, "before (recovered trigger)", 98.0, 90.0),
        _evaluation(600, "final", 2.0, 88.0),
        RunFinished(step=600, before={"asr": 98.0, "ca": 90.0}, after={"asr": 2.0, "ca": 88.0},
                    wall_time=60.0),
        StatusEvent(status="completed"),
    ]
    facts = gather({"id": "r", "name": "mine", "status": "completed", "config": CONFIG}, events)
    verdict = result(facts)
    assert verdict.outcome == "removed"
    assert verdict.verdict.startswith("Removed: ASR 98.0% → 2.0%")
    sends = "The trigger recovered by nc (phase 1) now sends 2.0% of triggered images"
    assert f"{sends} to “airplane”" in verdict.verdict
    assert "(before: 98.0%)" in verdict.verdict
    done = what_was_done(facts)
    assert "the user&#x27;s own backdoored model" in done and "resnet18.pt" in done
    assert "Unknown: nobody told UnlearnScope" in done and "recovered by nc" in done
    assert "no identified poisoned samples" in done
