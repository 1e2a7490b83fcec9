"""The monitor's price governor, on a simulated machine with an injected clock.

Training takes steps of BASE seconds while the monitor rests and (1 + load) times longer
while it works (load = the relative slowdown its work causes: ~0 with a spare core, large
when it competes for a busy machine). The monitor works WORK seconds per measurement and
rests what the governor says. Deterministic: no threads, no real time.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import pytest

from unlearnscope.ml.engine import governor as gov_module
from unlearnscope.ml.engine.governor import Governor

BASE = 0.1  # seconds of an undisturbed training step
WORK = 0.25  # seconds of one monitor measurement
DT = 0.001  # simulation tick


@dataclass
class Clock:
    t: float = 0.0

    def __call__(self) -> float:
        return self.t


@dataclass
class Sim:
    """Training and the monitor on one simulated machine, driven tick by tick."""

    gov: Governor
    clock: Clock
    load: Callable[[float], float]  # time -> relative slowdown while the monitor works
    work: float = WORK
    steps: list[tuple[float, float]] = field(default_factory=list)  # (start, end)
    measurements: list[float] = field(default_factory=list)  # when each one ended
    _working_until: float | None = None
    _resting_until: float = 0.0
    _step_start: float = 0.0
    _progress: float = 0.0

    def run(self, until: float) -> None:
        c = self.clock
        while c.t < until:
            if self._working_until is not None and c.t >= self._working_until:
                self.gov.work_ended(frames=True)
                self.measurements.append(c.t)
                self._working_until = None
                rest = max(self.gov.duty_rest(self.work), self.gov.probe_pause())
                self._resting_until = c.t + rest
            if self._working_until is None and c.t >= self._resting_until:
                self.gov.work_started()
                self._working_until = c.t + self.work
            speed = 1.0 / (1.0 + self.load(c.t)) if self._working_until is not None else 1.0
            self._progress += DT * speed / BASE
            c.t = round(c.t + DT, 9)
            if self._progress >= 1.0 - 1e-9:
                self._progress = 0.0
                self.gov.step_done(self._step_start, c.t)
                self.steps.append((self._step_start, c.t))
                self._step_start = c.t

    def slowdown(self, start: float, end: float) -> float:
        """The true slowdown (percent) of the steps that ended in [start, end)."""
        durations = [e - s for s, e in self.steps if start <= e < end]
        return 100.0 * (sum(durations) / (len(durations) * BASE) - 1.0)

    def frames_per_step(self, start: float, end: float) -> float:
        frames = sum(start <= t < end for t in self.measurements)
        return frames / sum(start <= e < end for _, e in self.steps)


def simulate(budget: float, load: Callable[[float], float]) -> Sim:
    clock = Clock()
    return Sim(Governor(budget, clock=clock), clock, load)


@pytest.mark.parametrize(("budget", "load"), [(5.0, 0.5), (5.0, 1.0), (1.0, 0.5), (20.0, 1.0)])
def test_the_slowdown_converges_to_the_budget_and_the_estimate_is_right(
    budget: float, load: float
) -> None:
    sim = simulate(budget, lambda t: load)
    sim.run(60.0)
    true = sim.slowdown(20.0, 60.0)
    # at most the budget, and not far below it: it aims at TARGET of it
    assert 0.6 * budget <= true <= 1.05 * budget, true
    status = sim.gov.status()
    assert status.slowdown is not None and status.full is not None
    assert status.full == pytest.approx(100 * load, rel=0.15)
    assert status.slowdown == pytest.approx(sim.slowdown(40.0, 60.0), abs=max(1.0, 0.2 * budget))
    assert status.budget == budget


def test_a_bigger_budget_buys_more_density() -> None:
    density = {}
    for budget in (1.0, 5.0, 20.0):
        sim = simulate(budget, lambda t: 1.0)
        sim.run(60.0)
        density[budget] = sim.frames_per_step(20.0, 60.0)
    assert 0 < density[1.0] < density[5.0] < density[20.0]


def test_with_a_spare_core_it_works_all_the_time_but_for_short_probes() -> None:
    sim = simulate(5.0, lambda t: 0.0)  # its work costs training nothing
    sim.run(40.0)
    status = sim.gov.status()
    assert status.duty == 1.0 and status.slowdown == pytest.approx(0.0, abs=0.5)
    # one measurement per WORK seconds, less the quiet pauses it keeps taking to check
    ceiling = BASE / WORK
    assert 0.7 * ceiling <= sim.frames_per_step(10.0, 40.0) <= ceiling
    assert status.quiet_steps >= gov_module.MIN_SAMPLES  # the pauses keep the comparison


def test_density_recovers_when_the_load_goes_away() -> None:
    sim = simulate(5.0, lambda t: 1.0 if t < 40.0 else 0.0)
    sim.run(100.0)
    loaded = sim.frames_per_step(20.0, 40.0)
    quiet = sim.frames_per_step(70.0, 100.0)
    assert quiet > 3 * loaded
    assert sim.gov.status().duty == 1.0
    assert sim.slowdown(20.0, 40.0) <= 5.25  # within the budget while the load was there


def test_the_monitor_never_stops_even_when_it_is_very_expensive() -> None:
    # a monitor that would slow training 50x: the exact ASR/CA still come, slowly
    sim = simulate(1.0, lambda t: 50.0)
    sim.run(120.0)
    assert sim.gov.status().duty == pytest.approx(gov_module.MIN_DUTY)
    assert len([t for t in sim.measurements if t > 60.0]) >= 2


def test_a_budget_edit_takes_effect_and_bad_budgets_are_refused() -> None:
    sim = simulate(1.0, lambda t: 1.0)
    sim.run(40.0)
    before = sim.gov.duty
    sim.gov.set_budget(20.0)
    assert sim.gov.duty > 10 * before  # at once, not at the next step
    sim.run(80.0)
    assert 12.0 <= sim.slowdown(60.0, 80.0) <= 21.0
    for bad in (0.0, -1.0, 101.0):
        with pytest.raises(ValueError, match="slowdown in %"):
            sim.gov.set_budget(bad)


def test_a_new_phase_starts_a_new_comparison() -> None:
    clock = Clock()
    g = Governor(5.0, clock=clock)
    for i in range(10):
        g.step_done(i * 0.1, (i + 1) * 0.1, group=0)
    assert g.status().quiet_steps == 10
    g.step_done(1.0, 1.5, group=1)  # a phase with slower steps: not compared with the last
    assert g.status().quiet_steps == 1


def test_one_long_pass_never_silences_the_monitor_for_long() -> None:
    # a first pass of 100 s on a crowded machine at the lowest duty cycle would ask for a
    # rest of hours; the rest is capped, and the quiet pause is separate from it
    clock = Clock()
    gov = Governor(5.0, clock=clock)
    gov.duty = gov_module.MIN_DUTY
    assert gov.duty_rest(100.0) == gov_module.MAX_REST_S
    assert gov.duty_rest(0.01) == pytest.approx(0.01 * (1 / gov_module.MIN_DUTY - 1))
    assert gov.probe_pause() >= 0.0  # the first quiet pause is due ...
    assert gov.probe_pause() == 0.0  # ... and counted as taken
    clock.t += gov_module.PROBE_EVERY_S
    gov.step_done(clock.t - BASE, clock.t)
    assert gov.probe_pause() == pytest.approx(gov_module.PROBE_STEPS * BASE)
