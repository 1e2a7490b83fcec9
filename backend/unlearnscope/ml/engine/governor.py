"""The live monitor's price governor: how long the monitor rests so that training is slowed
by at most `budget` percent, whatever else the machine is doing.

The monitor's cost is not a fixed share of the machine: on a quiet CPU with a spare core
it is nearly free, with the other cores busy it takes its time from training, on a GPU it
depends on what the two streams contend for. So it is measured, all the time, from what
training itself reports:

- the training thread reports each optimisation step as a (start, end) interval
  (`step_done`); the monitor thread reports when its work starts and ends
  (`work_started`, `work_ended`). Each step gets the share of its time the monitor was
  working (its overlap, 0..1).
- Over a sliding window of recent steps (the last WINDOW_STEPS, none older than
  WINDOW_S but for the last MIN_WINDOW; one phase at a time: phases differ in step cost)
  the quiet steps (overlap < QUIET) give training's own step time `base` (their median),
  the overlapped ones the share of training's speed the monitor's work takes while it
  runs, `loss` = sum(duration - base) / sum(overlapped seconds). What the monitor costs
  now, the `slowdown` it reports, is loss * overlapped seconds / (steps * base) over the
  window; `full` is what it would cost working all the time, loss / (1 - loss).
- The monitor's duty cycle (work / wall time) d is the one that slows training by
  TARGET * budget: training runs at 1 - d * loss of its speed (at most 1, at least
  MIN_DUTY); after `busy` seconds of work it rests busy * (1/d - 1), at most MAX_REST_S,
  with d asked again as the rest goes on (a rest set by one long pass ends when the
  estimate allows).
- Quiet steps must keep coming even when the monitor could work all the time (full ~ 0):
  every PROBE_EVERY_S it rests at least PROBE_STEPS step times (a short pause of its own
  work, the "running comparison"). Those pauses cost density, never training time.

Pure: no torch, no threads of its own, time from an injectable clock; thread-safe (one
lock), as the training thread and the monitor thread both report to it.
"""

from __future__ import annotations

import statistics
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

QUIET = 0.05  # a step overlapped by monitor work for less than this share is quiet
BUSY = 0.5  # ... for more than this share is busy
WINDOW_STEPS = 60  # steps in the sliding window
WINDOW_S = 20.0  # ... and none older than this (seconds), but for the last MIN_WINDOW
MIN_WINDOW = 20  # steps always kept (slow steps: a big model, a crowded machine)
MIN_SAMPLES = 3  # quiet steps (and MIN_SAMPLES * BUSY summed overlap) before an estimate
OUTLIER = 4.0  # steps longer than this many quiet step times are left out
MAX_LOSS = 0.99  # the monitor's work never stops training entirely
TARGET = 0.7  # aim below the budget: a margin for the estimate's noise and its bias (on a
# quiet machine the bench measured 1.5-2 points more than the governor believed: the
# monitor on the other core slows the "quiet" steps a little too)
MIN_DUTY = 0.01  # the monitor never stops entirely (exact ASR/CA must come, late or not)
START_DUTY = 0.1  # until the first estimate
PROBE_EVERY_S = 2.0  # a quiet pause at least this often...
PROBE_STEPS = 3  # ...of at least this many step times
MAX_REST_S = 10.0  # the longest rest: the monitor measures at least this often


@dataclass(frozen=True)
class GovernorStatus:
    """What the governor believes, for people (the monitor_status event)."""

    budget: float  # percent: the most training may be slowed
    slowdown: float | None  # percent: what the monitor costs training now; None: unknown yet
    full: float | None  # percent: the slowdown while the monitor works all the time
    duty: float  # share of wall time the monitor may work
    frames_per_step: float | None  # heatmap frames over the window's steps; None: no steps
    quiet_steps: int  # samples behind the estimate
    busy_steps: int


@dataclass
class _Step:
    end: float
    duration: float
    overlap: float  # share of the step the monitor worked, 0..1


class Governor:
    def __init__(self, budget: float, clock: Callable[[], float] = time.perf_counter) -> None:
        self.clock = clock
        self._lock = threading.Lock()
        self.budget = 0.0
        self._steps: deque[_Step] = deque(maxlen=WINDOW_STEPS)
        self._group: int | None = None  # the phase the window's steps belong to
        self._work: deque[tuple[float, float]] = deque()  # finished work intervals
        self._working_since: float | None = None
        self._probe_at = -float("inf")  # when the last quiet pause began
        self._base = 0.0  # training's quiet step time
        self._loss: float | None = None  # share of training's speed lost while it works
        self.duty = START_DUTY
        self._frame_times: deque[float] = deque()  # when heatmap frames were made
        self.set_budget(budget)

    # -- settings ------------------------------------------------------------------------
    def set_budget(self, budget: float) -> None:
        if not 0 < budget <= 100:
            raise ValueError(
                f"the monitoring budget is a slowdown in %, 0 < b <= 100; got {budget}"
            )
        with self._lock:
            self.budget = float(budget)
            if self._loss is not None:
                self.duty = self._duty(self._loss)

    # -- the monitor thread --------------------------------------------------------------
    def work_started(self) -> None:
        with self._lock:
            self._working_since = self.clock()

    def work_ended(self, frames: bool = False) -> None:
        """The work that began at `work_started` is over (`frames`: it made a heatmap frame)."""
        with self._lock:
            now = self.clock()
            if self._working_since is not None:
                self._work.append((self._working_since, now))
            self._working_since = None
            if frames:
                self._frame_times.append(now)

    def duty_rest(self, busy: float) -> float:
        """The rest after `busy` seconds of work that keeps the duty cycle as it is now,
        at most MAX_REST_S (however long one pass took: a first pass on a busy machine)."""
        with self._lock:
            duty = self.duty
            return 0.0 if duty >= 1 else min(MAX_REST_S, busy * (1.0 / duty - 1.0))

    def probe_pause(self) -> float:
        """A quiet pause of PROBE_STEPS step times when the last began PROBE_EVERY_S ago or
        more (it is then counted as taken), else 0."""
        with self._lock:
            now = self.clock()
            if now - self._probe_at < PROBE_EVERY_S:
                return 0.0
            self._probe_at = now
            return PROBE_STEPS * self._step_time()

    # -- the training thread -------------------------------------------------------------
    def step_done(self, start: float, end: float, group: int = 0) -> None:
        """Training ran one step from `start` to `end` (clock times) in phase `group`."""
        if end <= start:
            return
        with self._lock:
            if group != self._group:  # another phase: another step cost
                self._steps.clear()
                self._group = group
            overlap = self._overlap(start, end) / (end - start)
            self._steps.append(_Step(end, end - start, min(1.0, overlap)))
            while len(self._steps) > MIN_WINDOW and self._steps[0].end < end - WINDOW_S:
                self._steps.popleft()
            while self._work and self._work[0][1] < start:  # no later step can overlap them
                self._work.popleft()
            estimate = self._estimate()
            if estimate is not None:
                self._base, self._loss = estimate
                self.duty = self._duty(self._loss)

    # -- what it believes ----------------------------------------------------------------
    def status(self) -> GovernorStatus:
        with self._lock:
            quiet = [s for s in self._steps if s.overlap < QUIET]
            busy = [s for s in self._steps if s.overlap > BUSY]
            slowdown = full = None
            if self._loss is not None and self._steps and self._base > 0:
                worked = sum(s.overlap * s.duration for s in self._steps)
                slowdown = 100.0 * self._loss * worked / (len(self._steps) * self._base)
                full = 100.0 * self._loss / (1.0 - self._loss)
            return GovernorStatus(
                budget=self.budget,
                slowdown=slowdown,
                full=full,
                duty=self.duty,
                frames_per_step=self._density(),
                quiet_steps=len(quiet),
                busy_steps=len(busy),
            )

    # -- inside (under the lock) ---------------------------------------------------------
    def _overlap(self, start: float, end: float) -> float:
        spans = list(self._work)
        if self._working_since is not None:
            spans.append((self._working_since, end))
        return sum(max(0.0, min(end, b) - max(start, a)) for a, b in spans)

    def _estimate(self) -> tuple[float, float] | None:
        """(quiet step time, share of training's speed lost while the monitor works);
        None without enough samples.

        A step of `base` seconds' work overlapped for `w` seconds by monitor work that
        slows training's progress by a share `loss` takes base + loss * w seconds, so
        loss = sum(duration - base) / sum(w) over the overlapped steps (a ratio estimator:
        short overlaps weigh little). Steps more than OUTLIER quiet step times long (a
        stall of the machine) are left out.
        """
        quiet = [s.duration for s in self._steps if s.overlap < QUIET]
        if len(quiet) < MIN_SAMPLES:
            return None
        base = statistics.median(quiet)
        touched = [s for s in self._steps if s.overlap >= QUIET and s.duration < OUTLIER * base]
        worked = sum(s.overlap * s.duration for s in touched)
        if worked < MIN_SAMPLES * BUSY * base:
            return None
        loss = sum(s.duration - base for s in touched) / worked
        return base, min(MAX_LOSS, max(0.0, loss))

    def _duty(self, loss: float) -> float:
        """The duty cycle d that slows training by `allowed`: training runs at 1 - d loss
        of its speed, so it is slowed by 1 / (1 - d loss) - 1; solved for d."""
        allowed = TARGET * self.budget / 100.0
        if loss <= 0:
            return 1.0
        return min(1.0, max(MIN_DUTY, allowed / ((1.0 + allowed) * loss)))

    def _step_time(self) -> float:
        quiet = [s.duration for s in self._steps if s.overlap < QUIET]
        if quiet:
            return statistics.median(quiet)
        if self._steps:
            return statistics.median(s.duration for s in self._steps)
        return 0.0

    def _density(self) -> float | None:
        """Heatmap frames per training step over the window."""
        if not self._steps:
            return None
        start = self._steps[0].end - self._steps[0].duration
        while self._frame_times and self._frame_times[0] < start:
            self._frame_times.popleft()
        return len(self._frame_times) / len(self._steps)
