"""The terminal view's progress line for the attack training."""

from __future__ import annotations

from unlearnscope.commands.console import _progress_postfix


def test_the_epoch_reads_as_a_fraction_and_the_rest_as_numbers() -> None:
    got = _progress_postfix({"loss": 1.0861, "acc": 61.18, "epoch": 2.0, "epochs": 10.0})
    assert got == {"epoch": "2/10", "loss": "1.086", "acc": "61.180"}
    assert _progress_postfix({"loss": 0.5}) == {"loss": "0.500"}


def test_a_phase_ends_with_the_latest_word_of_each_of_its_visuals() -> None:
    """What NC flagged or how many neurons ANP pruned is printed when the phase ends."""
    import io

    from unlearnscope.commands.console import ConsoleReporter
    from unlearnscope.events import PhaseEnd, PhaseStart, PhaseVisualEvent

    out = io.StringIO()
    report = ConsoleReporter(out)
    report(PhaseStart(phase_index=0, kind="nc", step=0, planned_steps=3))
    for text in ("class 0: step 1/2", "class 0: step 2/2"):
        report(PhaseVisualEvent(step=1, phase_index=0, kind="nc", name="recovered_trigger",
                                text=text))  # fmt: skip
    report(PhaseVisualEvent(step=2, phase_index=0, kind="nc", name="anomaly_index",
                            text="flagged (index > 2, below the median): 0"))  # fmt: skip
    report(PhaseVisualEvent(step=2, phase_index=0, kind="nc", name="mask_norms"))
    report(PhaseEnd(phase_index=0, kind="nc", step=3, steps=3))
    lines = out.getvalue().splitlines()
    assert "phase 1: class 0: step 2/2" in lines and "phase 1: class 0: step 1/2" not in lines
    assert "phase 1: flagged (index > 2, below the median): 0" in lines
    assert len([ln for ln in lines if ln.startswith("phase 1: ")]) == 2  # no text, no line
    report(PhaseStart(phase_index=1, kind="recovery", step=3, planned_steps=1))
    report(PhaseEnd(phase_index=1, kind="recovery", step=4, steps=1))
    assert not [ln for ln in out.getvalue().splitlines() if ln.startswith("phase 2: ")]


def test_the_bar_shows_the_newest_numbers_measured_or_evaluated() -> None:
    """A phase-end evaluation replaces an older measurement on the bar; a live measurement
    that lagged behind it (an earlier step) does not bring the old number back."""
    import io

    from unlearnscope.commands.console import ConsoleReporter
    from unlearnscope.events import Evaluation, Measurement

    report = ConsoleReporter(io.StringIO())
    report(Measurement(step=1, phase_index=0, asr=99.8, ca=80.0))
    assert report.last["asr"] == 99.8
    report(Evaluation(step=40, label="phase 1 (ascent)", asr=0.5, ca=81.0, tar_median=0.2,
                      tar_mean=0.3, mass_fraction=0.1, n_clean=10, n_triggered=9))  # fmt: skip
    assert report.last["asr"] == 0.5 and report.last["tar_median"] == 0.2
    report(Measurement(step=30, phase_index=0, asr=60.0, ca=79.0))  # lagged
    assert report.last["asr"] == 0.5
    report(Measurement(step=45, phase_index=1, asr=0.3))
    assert report.last["asr"] == 0.3 and report.last["ca"] == 81.0
