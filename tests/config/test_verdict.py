"""verdict.py: did the defence remove the backdoor? One rule, against the run's criteria."""

from __future__ import annotations

from typing import Any

import pytest

from unlearnscope.config import SuccessConfig
from unlearnscope.presets import PRESETS, build_config, preset_outcomes
from unlearnscope.scores import headline
from unlearnscope.verdict import chance_floor, criteria_of, judge

BEFORE = {"asr_before": 99.8, "ca_before": 92.0}


def nums(**after: Any) -> dict[str, Any]:
    return {**BEFORE, **after}


def test_removed_with_clean_accuracy_kept_passes() -> None:
    v = judge(nums(asr_after=2.0, ca_after=90.0))
    assert (v["outcome"], v["passed"], v["tone"], v["label"]) == (
        "removed",
        True,
        "good",
        "Removed",
    )
    assert v["sentence"] == "Removed: ASR 99.8% → 2.0%, clean accuracy kept at 97.8%."
    assert v["final"] and v["criteria"]["asr_below"] == 10.0


def test_demo_anp_numbers_are_not_removed() -> None:
    """The user's case: ASR 99.8% -> 90.0% is a failure, said in words and marked bad."""
    v = judge(nums(asr_after=90.0, ca_after=91.0))
    assert (v["outcome"], v["passed"], v["tone"]) == ("not_removed", False, "bad")
    assert v["label"] == "Not removed" and v["icon"] == "✗"
    assert v["sentence"] == "Not removed: ASR 99.8% → 90.0%; the bar is below 10.0%."


def test_halved_but_above_the_bar_is_weakened() -> None:
    v = judge(nums(asr_after=40.0, ca_after=91.0))
    assert (v["outcome"], v["passed"], v["tone"]) == ("weakened", False, "mixed")
    assert v["sentence"].startswith("Weakened, not removed: ASR 99.8% → 40.0%")
    # just above half of ASR before is not weakened
    assert judge(nums(asr_after=50.0, ca_after=91.0))["outcome"] == "not_removed"


def test_removed_at_the_cost_of_clean_accuracy_misses_the_bar() -> None:
    v = judge(nums(asr_after=1.0, ca_after=80.0))  # 87% kept
    assert (v["outcome"], v["passed"], v["tone"]) == ("ca_lost", False, "mixed")
    assert "kept only 87.0% of its level (the bar: 95.0%)" in v["sentence"]


def test_a_backdoor_that_came_back_after_re_tuning_or_qra_fails() -> None:
    v = judge(nums(asr_after=3.0, ca_after=91.0, asr_retuned=85.0))
    assert (v["outcome"], v["passed"], v["tone"]) == ("came_back", False, "mixed")
    assert "re-tuning brought it back to 85.0% (the bar: below 20.0%)" in v["sentence"]
    assert judge(nums(asr_after=3.0, ca_after=91.0, asr_qra=60.0))["outcome"] == "came_back"
    # below the re-tuning bar (20% by default): it stayed gone
    held = judge(nums(asr_after=3.0, ca_after=91.0, asr_retuned=15.0, asr_qra=4.0))
    assert held["outcome"] == "removed" and held["passed"]
    assert "stayed gone when attacked (15.0% after re-tuning, 4.0% after QRA)" in held["sentence"]


@pytest.mark.parametrize("asr_after", [0.0, 50.0, 99.0])
def test_a_model_at_chance_accuracy_is_broken_whatever_its_asr_or_der(asr_after: float) -> None:
    v = judge(nums(asr_after=asr_after, ca_after=10.0), classes=10)
    assert (v["outcome"], v["passed"], v["tone"]) == ("broken", False, "bad")
    assert v["sentence"].startswith("Model broken: clean accuracy 10.0% is chance level for 10")


def test_chance_level_depends_on_the_class_count() -> None:
    assert chance_floor(10) == pytest.approx(15.0)
    assert chance_floor(2) == pytest.approx(75.0)  # a two-class model at 60% is broken
    assert chance_floor(100) == pytest.approx(6.0)
    assert judge({"asr_before": 99, "ca_before": 95, "asr_after": 1, "ca_after": 60},
                 classes=2)["outcome"] == "broken"  # fmt: skip
    assert judge({"asr_before": 99, "ca_before": 60, "asr_after": 1, "ca_after": 58},
                 classes=100)["outcome"] == "removed"  # fmt: skip


def test_the_headline_of_a_broken_model_carries_a_high_der_and_still_fails() -> None:
    events: list[dict[str, Any]] = [
        {"type": "run_started", "classes": [str(i) for i in range(10)]},
        {"type": "evaluation", "step": 0, "label": "before", "asr": 99.7, "ca": 10.5},
        {"type": "run_finished", "step": 50, "wall_time": 3.0,
         "before": {"asr": 99.7, "ca": 10.5}, "after": {"asr": 0.0, "ca": 10.0}},
    ]  # fmt: skip
    h = headline(events)
    assert h["der"] > 0.99 and h["verdict"]["outcome"] == "broken"


def test_missing_numbers_give_no_verdict() -> None:
    for numbers in ({}, {"asr_before": 99.0}, {"asr_after": 2.0, "ca_after": 90.0}):
        v = judge(numbers)
        assert (v["outcome"], v["passed"], v["tone"], v["label"]) == (
            "none",
            None,
            "none",
            "No numbers yet",
        )


def test_an_unfinished_run_is_judged_so_far_and_neither_passes_nor_fails() -> None:
    v = judge(nums(asr_after=2.0, ca_after=90.0), final=False)
    assert v["outcome"] == "removed" and v["passed"] is None and not v["final"]
    assert v["sentence"].startswith("So far, removed: ASR 99.8% → 2.0%")
    # the headline of a run without run_finished is such a verdict
    running = headline(
        [
            {"type": "evaluation", "step": 0, "label": "before", "asr": 99, "ca": 90},
            {"type": "evaluation", "step": 5, "label": "phase 1", "asr": 50, "ca": 90},
        ]
    )
    assert running["verdict"]["final"] is False and running["verdict"]["outcome"] == "not_removed"


def test_custom_criteria_from_the_run_config() -> None:
    cfg = build_config(
        "tiny", {"success": {"asr_below": 50.0, "ca_kept_from": 80.0, "asr_retuned_below": 90.0}}
    )
    criteria = criteria_of(cfg.model_dump(mode="json"))
    assert criteria == cfg.success and criteria.asr_below == 50.0
    numbers = nums(asr_after=40.0, ca_after=80.0, asr_retuned=85.0)  # 87% of CA kept
    assert judge(numbers)["outcome"] == "weakened"  # the default bar
    v = judge(numbers, criteria)
    assert v["outcome"] == "removed" and v["criteria"]["asr_below"] == 50.0
    assert (
        "the bar is below 50.0%" in judge(nums(asr_after=60.0, ca_after=90.0), criteria)["sentence"]
    )
    # the headline judges against the criteria it is given
    events = [
        {"type": "evaluation", "step": 0, "label": "before", "asr": 99.8, "ca": 92.0},
        {"type": "run_finished", "step": 9, "wall_time": 1.0,
         "before": {"asr": 99.8, "ca": 92.0}, "after": {"asr": 40.0, "ca": 80.0}},
    ]  # fmt: skip
    assert headline(events)["verdict"]["outcome"] == "weakened"
    assert headline(events, None, criteria)["verdict"]["outcome"] == "removed"


def test_criteria_default_for_older_runs_and_are_validated() -> None:
    assert criteria_of({}) == SuccessConfig() and criteria_of(None) == SuccessConfig()
    assert criteria_of({"success": {"asr_below": -3}}) == SuccessConfig()  # unreadable
    with pytest.raises(ValueError, match="asr_below"):
        build_config("tiny", {"success": {"asr_below": 0}})


def test_every_demo_preset_has_a_measured_outcome_that_todays_rule_agrees_with() -> None:
    """backend/unlearnscope/preset_outcomes.json (scripts/preset_outcomes.py) holds a measured
    outcome for every demo preset, and judging its numbers again gives the same verdict: a
    change to the rule or to a preset's bar shows here until the script is run again."""
    measured = preset_outcomes()
    demos = [n for n in PRESETS if n == "demo" or n.startswith("demo-")]
    assert sorted(measured) == sorted(demos)
    for name, entry in measured.items():
        criteria = build_config(name).success
        assert entry["verdict"]["criteria"] == criteria.model_dump(mode="json"), name
        assert judge(entry["numbers"], criteria) == entry["verdict"], name
        assert entry["status"] == "completed" and entry["measured"], name
    # the case of issue 26: the ANP demo does not remove the backdoor here, the demo does
    assert measured["demo-anp"]["verdict"]["outcome"] == "not_removed"
    assert measured["demo"]["verdict"]["passed"] is True
