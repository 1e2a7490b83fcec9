"""The report's "Gone for good, or only hidden?": the defended model's backdoor-connected
path, where its triggered images went, and what the closing attacks did beyond their ASR."""

from __future__ import annotations

import copy
import re

from report_runs import COMPLETED, STOPPED
from test_report import embedded

from unlearnscope.report import RunFacts, build_report
from unlearnscope.report.sections import gone_or_hidden, path_reading, where_triggered
from unlearnscope.report.verdict import result


def section(html: str) -> str:
    found = re.search(r'<section id="hidden" class="card">(.*?)</section>', html, re.S)
    assert found, "the report has the section"
    return found.group(1)


def attacked(f: RunFacts) -> RunFacts:
    """The completed tiny run as if its schedule had closed with QRA and a retuning attack
    that woke the backdoor: two more phases, their evaluations and paths, the numbers."""
    g = copy.deepcopy(f)
    end = g.last_step
    schedule = [*g.schedule, {"kind": "qra", "steps": 3}, {"kind": "relearn", "steps": 3}]
    g.edits = [{"step": end, "schedule": schedule}]
    for i, kind in ((2, "qra"), (3, "relearn")):
        start = end + 3 * (i - 2)
        g.phases.append(
            {"index": i, "kind": kind, "start": start, "end": start + 3, "reason": "done"}
        )
        label = f"phase {i + 1} ({kind})"
        last = {**g.evaluations[-1], "label": label, "step": start + 3, "asr": 70.0}
        g.evaluations.append(last)
        g.paths.append(
            {**g.paths[-1], "step": start + 3, "phase_index": i, "label": label, "asr": [90.0] * 11}
        )
    g.evaluations.append({**g.evaluations[-1], "label": "final"})
    defended = g.evaluations[-4]  # phase 2 (recovery)
    g.finished = {
        "step": end + 6,
        "before": {"asr": 100.0, "ca": 90.0},
        "after": {k: defended[k] for k in ("asr", "ca", "ra", "tar_median", "tar_mean")},
        "wall_time": 10.0,
        "retuned": {"asr": 70.0, "ca": 81.5},
        "reactivated": {"asr": 40.0, "asr_without": 1.0, "adversarial": 35.0},
    }
    g.last_step = end + 6
    return g


def test_a_run_with_paths_shows_the_defended_models_path_and_where_its_triggered_images_went(
    facts,
) -> None:
    f = facts[COMPLETED]
    last = f.phases[-1]
    assert [p["phase_index"] for p in f.paths] == [0, 1]  # a path at every phase end
    assert f.defended_path() == f.paths[-1] and f.retuned_path() is None
    assert f.defended_evaluation() == f.evaluations[-1]
    html = build_report(f)
    part = section(html)
    assert "Gone for good, or only hidden?" in part
    assert 'id="chart-path"' in part and 'id="print-path"' in part
    assert f"phase 2 (recovery), step {last['end']}" in part
    assert re.search(r"back to the backdoored model the backdoor fires on [\d.]+%", part)
    # where the triggered images went: the target named, shares of the full test set
    counts = f.evaluations[-1]["triggered_classes"]
    assert f"The {sum(counts):,} triggered test images" in part
    assert f"{f.target_name} (target)" in part and 'class="share target"' in part
    assert 'id="attacks-words"' not in part  # no attack on the defended model
    path = embedded(html)["path"]
    assert path["defended"]["step"] == last["end"] and path["retuned"] is None
    assert path["defended"]["alphas"][0] == 0 and path["defended"]["alphas"][-1] == 1


def test_a_run_with_neither_paths_nor_attacks_has_no_section(facts) -> None:
    f = facts[STOPPED]
    assert f.paths == [] and not f.attack_phases_ran()
    html = build_report(f)
    assert 'id="hidden"' not in html and "only hidden" not in html
    assert embedded(html)["path"] is None


def test_closing_attacks_the_defended_model_is_the_one_before_them_and_the_numbers_agree(
    facts,
) -> None:
    g = attacked(facts[COMPLETED])
    assert g.closing_attacks_from() == 2 and g.attack_phases_ran()
    defended, retuned, ev = g.defended_path(), g.retuned_path(), g.defended_evaluation()
    assert defended is not None and defended["phase_index"] == 1
    assert retuned is not None and retuned["label"] == "phase 4 (relearn)"
    assert ev is not None and ev["label"] == "phase 2 (recovery)"
    part = section(build_report(g))
    # the attacks' ASR is the verdict's (cards and the "only dormant" sentence): here what
    # it does not say, and no second copy of those numbers
    assert "ASR after re-tuning" in [n.name for n in result(g).numbers]
    assert "81.5% clean accuracy" in part
    assert (
        "the trigger without its perturbation reaches 1.0%" in part
        and "on clean images, 35.0%" in part
    )
    assert "adversarial perturbation rather than the backdoor waking" in part
    # (the attacks' own ASR, 70% and 40%, is the cards' alone: not in the attacks' words;
    # the class shares above may hold any number)
    words = re.search(r'<p id="attacks-words">.*?</p>', part, re.S)
    assert words is not None
    assert "70.0%" not in words.group(0) and "40.0%" not in words.group(0)
    assert "model after the retuning attack (phase 4 (relearn))" in part
    data = embedded(build_report(g))["path"]
    assert data["retuned"]["asr"] == [90.0] * 11


def test_attacks_without_a_path_still_get_the_section(facts) -> None:
    g = attacked(facts[COMPLETED])
    g.paths = []
    part = gone_or_hidden(g)
    assert "No backdoor-connected path of the defended model was measured" in part
    assert 'id="chart-path"' not in part and 'id="attacks-words"' in part


PATH = {"alphas": [i / 10 for i in range(11)], "ca": [90.0] * 11}


def test_the_reading_says_how_far_back_the_backdoor_stays_low() -> None:
    far = {**PATH, "asr": [100, 95, 80, 50, 20, 8, 4, 2, 1, 0, 0]}
    text = path_reading(far)
    assert text.startswith("Half-way back to the backdoored model the backdoor fires on 8.0%")
    assert "first reaches 10% at α = 0.4, 60% of the way back" in text
    assert "gone for good" in text
    assert "woke the backdoor" in path_reading(far, ["the retuning attack"])
    assert "did not wake it" in path_reading(far, [])
    close = {**PATH, "asr": [100, 100, 100, 99, 97, 95, 80, 40, 12, 3, 0]}
    text = path_reading(close)
    assert "fires on 95.0%" in text and "20% of the way back" in text
    assert "only hidden" in text and "re-tuning may wake it" in text
    # not removed at all: the numbers only, the result above says the rest
    assert path_reading({**PATH, "asr": [100] * 11}).endswith(
        "(at the defended model itself: 100.0%)."
    )
    unknown = path_reading({**PATH, "asr": [None] * 11})
    assert "trigger is unknown" in unknown and "half-way: 90.0%" in unknown


def test_a_class_that_takes_the_triggered_images_is_named(facts) -> None:
    f = copy.deepcopy(facts[COMPLETED])
    target = f.target_class
    assert target is not None
    counts = [5] * len(f.classes)
    counts[target] = 0
    moved = (target + 1) % len(counts)
    counts[moved] = 200
    f.evaluations[-1]["triggered_classes"] = counts
    text = where_triggered(f)
    assert f"“{f.classes[moved]}” takes" in text and "moved rather than removed" in text
    f.evaluations[-1]["triggered_classes"] = None
    assert "was not counted" in where_triggered(f)


def test_a_broken_models_path_is_not_read_as_a_removed_backdoor() -> None:
    """The verdict says "Model broken" (CA at chance): the path section must not call the
    backdoor gone, whatever its low ASR."""
    far = {**PATH, "asr": [100, 95, 80, 50, 20, 8, 4, 2, 1, 0, 0]}
    assert "gone for good" in path_reading(far)
    broken = path_reading(far, None, "broken")
    assert "The model is broken" in broken and "gone" not in broken
    # the run's own bar: 1% is first reached at alpha 0.8, 20% of the way back
    assert "first reaches 1% at α = 0.8, 20% of the way back" in path_reading(
        far, None, "removed", 1.0
    )
