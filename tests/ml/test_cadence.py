from __future__ import annotations

from unlearnscope.ml.engine.cadence import Cadence


def test_fixed_intervals_at_their_multiples() -> None:
    c = Cadence(every={"frame": 1, "tar": 2, "eval": 0}, fixed=True)
    plans = [c.plan(step) for step in range(1, 5)]
    assert plans == [{"frame"}, {"frame", "tar"}, {"frame"}, {"frame", "tar"}]


def test_concurrent_frames_whenever_the_interval_has_passed_eval_at_multiples() -> None:
    c = Cadence(every={"frame": 2, "tar": 0, "eval": 5}, fixed=False)
    # the monitor sees only some snapshots: 1, 2, 3, 5, 6, 9, 10
    plans = {step: c.plan(step) for step in (1, 2, 3, 5, 6, 9, 10)}
    assert plans == {
        1: {"frame"},  # the first snapshot is always measured
        2: set(),  # 1 step after the last frame
        3: {"frame"},
        5: {"frame", "eval"},  # eval at the multiples of 5, whatever the monitor skipped
        6: set(),
        9: {"frame"},
        10: {"eval"},  # frames: only 1 step after 9
    }
    assert c.at_multiple("eval", 10) and not c.at_multiple("eval", 11)
    assert not Cadence(every={"frame": 0, "tar": 0, "eval": 0}).active()


def test_a_plan_of_some_kinds_leaves_the_others_due() -> None:
    # a monitor behind on its exact ASR/CA measures only those; frames stay due
    c = Cadence(every={"frame": 1, "tar": 1, "eval": 5}, fixed=False)
    assert c.plan(5, ("eval",)) == {"eval"}
    assert c.plan(6) == {"frame", "tar"}
