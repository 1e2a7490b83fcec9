"""End to end: the demo presets remove the backdoor of the shapes demo and keep clean
accuracy. `demo` is the paper's schedule (ascent + EWC, then recovery); of the defences'
presets (docs/tuning-log.md: measured CA 92.60%, ASR 5.50% for demo-fineprune; CA 92.90%, ASR
0.00% for demo-nc, which unlearns the smallest recovered trigger) these two are checked here.
demo-anp and demo-ibau did not reach that goal in our measurements, so they are not claimed;
demo-sam and demo-nad did, and are left to docs/results.md to keep this slow test short.

The three runs share one backdoored model and run two at a time (tests/config/demo_runs.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
from demo_runs import DemoRun, run_side_by_side

from unlearnscope.states import RunStatus

# Defences: the monitor at fixed steps, and sparse: the verdict is the full test set's
# evaluations. The demo: a larger test split, so the TAR check has images to stand on.
SPARSE = {"monitor": {"probe_count": 2, "budget": 0.0, "frame_every": 50, "tar_every": 50,
                      "eval_every": 50}}  # fmt: skip
RUNS = {
    "demo": {"data": {"test_size": 1000}, "monitor": {"probe_count": 4}},
    "demo-fineprune": SPARSE,
    "demo-nc": SPARSE,
}

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def runs(model_cache: Path) -> dict[str, DemoRun]:
    return run_side_by_side(RUNS, model_cache)


def removed_and_kept(run: DemoRun) -> None:
    assert run.status is RunStatus.COMPLETED
    before, after = run.evaluations[0], run.evaluations[-1]
    print(f"CA {before.ca:.2f} -> {after.ca:.2f}, ASR {before.asr:.2f} -> {after.asr:.2f}")
    assert before.asr > 90.0 and before.ca > 85.0  # the attack worked
    assert after.asr < 10.0  # the backdoor is gone
    assert after.ca >= 0.95 * before.ca  # and clean accuracy stayed


def test_demo_schedule_removes_the_backdoor_and_keeps_clean_accuracy(
    runs: dict[str, DemoRun],
) -> None:
    run = runs["demo"]
    removed_and_kept(run)
    before, after = run.evaluations[0], run.evaluations[-1]
    assert before.tar_median > 1.5 > after.tar_median  # attention left the trigger
    assert run.finished is not None and run.finished.after["asr"] == after.asr


@pytest.mark.parametrize("preset", ["demo-fineprune", "demo-nc"])
def test_a_defence_preset_removes_the_demo_backdoor(runs: dict[str, DemoRun], preset: str) -> None:
    run = runs[preset]
    removed_and_kept(run)
    assert run.visuals > 0  # the defence's own picture
