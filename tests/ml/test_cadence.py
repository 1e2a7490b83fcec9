from __future__ import annotations

from unlearnscope.ml.cadence import Cadence


def test_fixed_intervals_without_budget() -> None:
    c = Cadence(every={"frame": 1, "tar": 2, "eval": 0}, budget=0.0)
    plans = [c.plan(step, 0.01) for step in range(1, 5)]
    assert plans == [{"frame"}, {"frame", "tar"}, {"frame"}, {"frame", "tar"}]


def test_budget_keeps_monitoring_near_its_share_of_wall_time() -> None:
    c = Cadence(every={"frame": 1, "tar": 1, "eval": 1}, budget=0.1)
    cost = {"frame": 0.02, "tar": 0.05, "eval": 0.08}  # seconds; a step takes 0.1 s
    step_time, monitor_time = 0.0, 0.0
    counts = dict.fromkeys(cost, 0)
    for step in range(1, 2001):
        step_time += 0.1
        for kind in c.plan(step, 0.1):
            c.record(step, kind, cost[kind])
            monitor_time += cost[kind]
            counts[kind] += 1
    share = monitor_time / (monitor_time + step_time)
    assert 0.07 < share < 0.11
    # each kind gets its share: frames 40%, TAR 30%, ASR/CA 30% of the monitoring time
    spent = {k: counts[k] * cost[k] for k in cost}
    assert all(n > 50 for n in counts.values())
    assert 0.3 < spent["frame"] / monitor_time < 0.5
    assert 0.2 < spent["eval"] / monitor_time < 0.4


def test_budget_respects_minimum_intervals_and_never() -> None:
    c = Cadence(every={"frame": 5, "tar": 0, "eval": 0}, budget=0.5)
    steps = []
    for step in range(1, 21):
        if "frame" in c.plan(step, 1.0):
            c.record(step, "frame", 0.001)
            steps.append(step)
    assert steps == [5, 10, 15, 20]
