"""When to monitor: fixed intervals, or as often as a wall-time budget allows.

Fixed (budget 0): heatmap frames, TAR and ASR/CA every `frame_every`, `tar_every`,
`eval_every` steps (0 = never).

Budgeted (0 < budget < 1): the same intervals are the *most* often each one runs, and time
allowances decide the rest. Every step adds `budget / (1 - budget) * step_time` seconds,
split between the kinds in use (frames 40%, TAR 30%, ASR/CA 30%), so monitoring takes
about `budget` of the wall time and none of them starves the others. A measurement runs
when it is due by its interval and its allowance covers its expected cost (a running mean
of what it cost before). Allowances are capped, so a quiet stretch does not turn into a
burst.
"""

from __future__ import annotations

from dataclasses import dataclass, field

KINDS = ("frame", "tar", "eval")
SHARES = {"frame": 0.4, "tar": 0.3, "eval": 0.3}


@dataclass
class Cadence:
    every: dict[str, int]  # kind -> interval in steps (0 = never)
    budget: float = 0.0  # fraction of wall time; 0 = fixed intervals
    allowance: dict[str, float] = field(default_factory=dict)  # kind -> seconds affordable
    cost: dict[str, float] = field(default_factory=dict)  # kind -> mean seconds
    last: dict[str, int] = field(default_factory=dict)  # kind -> step of the last run

    def _active(self) -> list[str]:
        return [k for k in KINDS if self.every.get(k, 0) > 0]

    def _interval_due(self, kind: str, step: int) -> bool:
        every = self.every.get(kind, 0)
        if every <= 0:
            return False
        if self.budget <= 0:
            return step % every == 0
        return step - self.last.get(kind, 0) >= every

    def plan(self, step: int, step_time: float) -> set[str]:
        """The measurements to make after `step`, which took `step_time` seconds."""
        if self.budget <= 0:
            return {k for k in KINDS if self._interval_due(k, step)}
        active = self._active()
        total_share = sum(SHARES[k] for k in active) or 1.0
        earned = self.budget / (1.0 - self.budget) * step_time
        planned = set()
        for kind in active:
            expected = self.cost.get(kind, 0.0)  # unknown cost: run once to learn it
            have = self.allowance.get(kind, 0.0) + earned * SHARES[kind] / total_share
            self.allowance[kind] = min(have, 4.0 * expected) if expected > 0 else have
            if self._interval_due(kind, step) and expected <= self.allowance[kind]:
                planned.add(kind)
        return planned

    def record(self, step: int, kind: str, seconds: float) -> None:
        """A measurement of `kind` was made after `step` and took `seconds`."""
        self.last[kind] = step
        if self.budget > 0:
            self.allowance[kind] = self.allowance.get(kind, 0.0) - seconds
        old = self.cost.get(kind)
        self.cost[kind] = seconds if old is None else 0.7 * old + 0.3 * seconds
