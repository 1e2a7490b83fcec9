"""The terminal view's progress line for the attack training."""

from __future__ import annotations

from unlearnscope.console import _progress_postfix


def test_the_epoch_reads_as_a_fraction_and_the_rest_as_numbers() -> None:
    got = _progress_postfix({"loss": 1.0861, "acc": 61.18, "epoch": 2.0, "epochs": 10.0})
    assert got == {"epoch": "2/10", "loss": "1.086", "acc": "61.180"}
    assert _progress_postfix({"loss": 0.5}) == {"loss": "0.500"}
