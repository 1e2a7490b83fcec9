"""scores.py: the numbers that judge a defence, defined once."""

from __future__ import annotations

import pytest

from unlearnscope.scores import der, retention


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
