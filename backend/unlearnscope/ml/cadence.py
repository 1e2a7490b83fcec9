"""When to monitor: fixed intervals, or as often as a wall-time budget allows.

Fixed (budget 0): heatmap frames, TAR and ASR/CA every `frame_every`, `tar_every`,
`eval_every` steps (0 = never).

Budgeted (0 < budget < 1): the same intervals are the *most* often each one runs, and a
time allowance decides the rest. Every step adds `budget / (1 - budget) * step_time` to
the allowance, so monitoring takes about `budget` of the wall time; a measurement runs
when it is due by its interval and the allowance covers its expected cost (a running
mean of what it cost before). Frames come first, then TAR, then ASR/CA. The allowance is
capped, so a long quiet stretch does not turn into a burst.
"""

from __future__ import annotations

from dataclasses import dataclass, field

KINDS = ("frame", "tar", "eval")


@dataclass
class Cadence:
    every: dict[str, int]  # kind -> interval in steps (0 = never)
    budget: float = 0.0  # fraction of wall time; 0 = fixed intervals
    allowance: float = 0.0  # seconds of monitoring currently affordable
    cost: dict[str, float] = field(default_factory=dict)  # kind -> mean seconds
    last: dict[str, int] = field(default_factory=dict)  # kind -> step of the last run

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
        self.allowance += self.budget / (1.0 - self.budget) * step_time
        planned, spend = set(), 0.0
        for kind in KINDS:
            if not self._interval_due(kind, step):
                continue
            expected = self.cost.get(kind, 0.0)  # unknown cost: run once to learn it
            if spend + expected <= self.allowance:
                planned.add(kind)
                spend += expected
        cap = 4.0 * max(self.cost.values(), default=0.0)
        if cap > 0:
            self.allowance = min(self.allowance, cap)
        return planned

    def record(self, step: int, kind: str, seconds: float) -> None:
        """A measurement of `kind` was made after `step` and took `seconds`."""
        self.last[kind] = step
        if self.budget > 0:
            self.allowance -= seconds
        old = self.cost.get(kind)
        self.cost[kind] = seconds if old is None else 0.7 * old + 0.3 * seconds
