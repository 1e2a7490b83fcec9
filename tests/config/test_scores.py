"""scores.py: the numbers that judge a defence, defined once."""

from __future__ import annotations

import pytest

from unlearnscope.scores import der, headline, retention, scores_at_steps


def test_retention_is_ca_after_as_a_share_of_ca_before() -> None:
    assert retention(80.0, 76.0) == pytest.approx(95.0)
    assert retention(None, 76.0) is None and retention(80.0, None) is None
    assert retention(0.0, 10.0) is None  # no share of nothing


def test_der_rewards_removal_and_charges_lost_accuracy() -> None:
    assert der({"asr": 100.0, "ca": 90.0}, {"asr": 0.0, "ca": 90.0}) == pytest.approx(1.0)
    assert der({"asr": 100.0, "ca": 90.0}, {"asr": 100.0, "ca": 90.0}) == pytest.approx(0.5)
    # ASR down 50 points at 10 points of CA: (0.5 - 0.1 + 1) / 2
    assert der({"asr": 100.0, "ca": 90.0}, {"asr": 50.0, "ca": 80.0}) == pytest.approx(0.7)
    assert der({"asr": 100.0, "ca": 90.0}, {"asr": 50.0}) is None


RUN = [  # a run's event headers, as the compare view's API reads them
    {"type": "evaluation", "step": 0, "label": "before", "asr": 96, "ca": 80, "tar_median": 3},
    {"type": "measurement", "step": 5, "asr": 40, "ca": 79},
    {"type": "measurement", "step": 10, "asr": 9.5, "ca": 78},
    {"type": "measurement", "step": 20, "asr": 6.0, "ca": 70.0},
    {"type": "evaluation", "step": 20, "label": "final", "asr": 4, "ca": 76, "tar_median": 1.1},
    {
        "type": "run_finished",
        "step": 20,
        "before": {"asr": 96, "ca": 80},
        "after": {"asr": 4, "ca": 76, "ra": 70},
        "wall_time": 12.5,
    },
]


def test_the_headline_of_a_run() -> None:
    h = headline(RUN)
    assert h["steps_to_asr10"] == 10
    assert h["der"] == pytest.approx((0.92 - 0.04 + 1) / 2)
    assert h["retention"] == pytest.approx(95)
    assert h["ra_after"] == 70 and h["wall_time"] == 12.5 and h["finished"]


def test_scores_at_every_measured_step() -> None:
    scores = scores_at_steps(RUN)
    assert [s["step"] for s in scores] == [0, 5, 10, 20]
    assert scores[1] == {
        "step": 5,
        "asr": 40,
        "ca": 79,
        "ra": None,
        "tar": 3,
        "retention": pytest.approx(98.75),
        "der": pytest.approx((0.56 - 0.01 + 1) / 2),
    }
    # step 20: the full evaluation wins over the monitor measurement of the same step
    assert scores[3]["asr"] == 4 and scores[3]["ca"] == 76 and scores[3]["tar"] == 1.1
    assert scores_at_steps([{"type": "measurement", "step": 3, "asr": 5}])[0]["der"] is None
