"""When to monitor: which measurements are due at a step.

Synchronous monitoring (`monitor.budget == 0`, reproducible): heatmap frames, TAR and
ASR/CA exactly at the multiples of `frame_every`, `tar_every`, `eval_every` (0 = never),
measured inside the training loop.

Concurrent monitoring (`budget > 0`): the monitor measures snapshots beside training.
Frames and TAR are due on any snapshot at least `frame_every`/`tar_every` steps after the
last one measured (so as often as the monitor keeps up); ASR/CA stay at the multiples of
`eval_every` (those snapshots are kept until measured). The budget is the most training
may be slowed, in percent; how long the monitor rests between measurements to stay within
it is the governor's (governor.py).
"""

from __future__ import annotations

from dataclasses import dataclass, field

KINDS = ("frame", "tar", "eval")


@dataclass
class Cadence:
    every: dict[str, int]  # kind -> interval in steps (0 = never)
    fixed: bool = True  # True: at the multiples of each interval; False: at least apart
    last: dict[str, int] = field(default_factory=dict)  # kind -> step last measured

    def active(self) -> bool:
        return any(self.every.get(k, 0) > 0 for k in KINDS)

    def at_multiple(self, kind: str, step: int) -> bool:
        every = self.every.get(kind, 0)
        return every > 0 and step % every == 0

    def due(self, kind: str, step: int) -> bool:
        every = self.every.get(kind, 0)
        if every <= 0:
            return False
        if self.fixed or kind == "eval":
            return step % every == 0
        return step - self.last.get(kind, -every) >= every

    def plan(self, step: int, kinds: tuple[str, ...] = KINDS) -> set[str]:
        """The measurements of `kinds` due after `step`; marks them as made."""
        planned = {k for k in kinds if self.due(k, step)}
        for kind in planned:
            self.last[kind] = step
        return planned
