"""The concurrent monitor: measures weight snapshots in a thread beside the training loop.

At each step boundary the engine `publish`es the weights (a copy into a free snapshot slot,
microseconds for the small CNN) and goes on training. This thread takes the newest
snapshot (or a kept one, see snapshots.py), loads it into its own copy of the model and
makes the measurements the cadence says are due: heatmap frames, TAR, ASR/CA. It reports
each result with the step of its snapshot, so what it says is exact for that step however
far training has moved on. It rests between measurements so that training is slowed by at
most the monitoring budget (a percentage): the governor (governor.py) compares training's
step times while this thread works and while it rests, and says how long to rest. When the
budget cannot afford the exact ASR/CA on time they arrive late (their snapshots are kept),
measured without frames or TAR until the monitor has caught up; `status` says how far
behind it is. The backdoor-connected path of a phase end (or of a request) is handed over
the same way (`request_path`: a copy of the weights at that step) and measured first,
within the same budget.

On CUDA the monitor runs on its own stream of the same device. On CPU its ops run on the
monitor thread with torch's process-wide thread count, which the engine halves while this
thread runs, so training and monitoring each keep their own cores. The GIL is released
inside torch ops, so the two threads overlap.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import torch
from torch import nn

from ...events import MonitorStatus
from ..kinds.protocol import frozen_copy
from ..monitor import Measured, Monitor
from ..path import PathCurve, path_curve
from .cadence import KINDS, Cadence
from .governor import Governor, GovernorStatus
from .paths import PathJob
from .snapshots import SnapshotBuffer

# report(step, phase_index, measured) -> None; called on the monitor thread
Report = Callable[[int, int, Measured], None]


# report_path(job, curve, seconds) -> None; called on the monitor thread
ReportPath = Callable[[PathJob, PathCurve, float], None]
OnError = Callable[[BaseException], None]

TAKE_TIMEOUT_S = 0.2
CATCH_UP = ("eval", "frame")  # what a measurement makes while exact ASR/CA are waiting
STATUS_EVERY_S = 2.0  # how often `status_due` has something new to say
REST_SLICE_S = 0.05  # a rest asks the governor again this often


@dataclass(frozen=True)
class LiveStatus:
    governor: GovernorStatus
    behind: int  # steps from the oldest exact ASR/CA still waiting to the newest snapshot
    waiting: int  # exact ASR/CA snapshots still waiting

    def event(self, step: int, request_id: str = "") -> MonitorStatus:
        g = self.governor
        return MonitorStatus(
            request_id=request_id,
            step=step,
            budget=g.budget,
            slowdown=g.slowdown,
            full=g.full,
            duty=g.duty,
            frames_per_step=g.frames_per_step,
            behind=self.behind,
            waiting=self.waiting,
        )


class LiveMonitor:
    def __init__(
        self,
        monitor: Monitor,
        model: nn.Module,
        cadence: Cadence,
        report: Report,
        on_error: OnError,
        governor: Governor,
        start: nn.Module | None = None,
        report_path: ReportPath | None = None,
        path_points: int = 11,
    ) -> None:
        self.monitor = monitor
        self.cadence = cadence
        self.buffer = SnapshotBuffer(model)
        self.model = frozen_copy(model)  # the monitor's own model, loaded from snapshots
        self._report = report
        self._on_error = on_error
        self.governor = governor
        self._newest = 0  # the newest published step
        self._status_at = -float("inf")
        self.measured = 0
        self.busy_seconds = 0.0
        # the backdoor-connected path: from `start` (the backdoored model) to a job's weights
        self._start = start
        self._report_path = report_path
        self._path_points = path_points
        self._paths: deque[PathJob] = deque()
        self._scratch: nn.Module | None = None
        self._finishing = threading.Event()  # flush: measure what is pending, no rests
        self._abandon = threading.Event()  # close: stop after the current measurement
        self._wake = threading.Event()  # the budget changed: end the rest in progress
        self._free = threading.Event()  # cleared while the engine holds the monitor (held())
        self._free.set()
        self._thread = threading.Thread(target=self._run, name="live-monitor", daemon=True)

    def start(self) -> None:
        self._thread.start()

    # -- the training side ---------------------------------------------------------------
    def step_done(self, start: float, end: float, phase_index: int) -> None:
        """Training ran one optimisation step from `start` to `end` (time.perf_counter)."""
        self.governor.step_done(start, end, phase_index)

    def publish(self, model: nn.Module, step: int, phase_index: int) -> None:
        keep = self.cadence.at_multiple("eval", step)
        self.buffer.publish(model, step, phase_index, keep=keep)
        self._newest = step

    def status(self) -> LiveStatus:
        kept = self.buffer.kept_steps()
        behind = self._newest - kept[0] if kept else 0
        return LiveStatus(self.governor.status(), behind=behind, waiting=len(kept))

    def status_due(self) -> LiveStatus | None:
        """The status, at most every STATUS_EVERY_S (None in between)."""
        now = self.governor.clock()
        if now - self._status_at < STATUS_EVERY_S:
            return None
        self._status_at = now
        return self.status()

    def set_budget(self, budget: float) -> None:
        """A new budget (percent), from the next rest on (the rest in progress ends)."""
        self.governor.set_budget(budget)
        self._wake.set()

    @contextlib.contextmanager
    def held(self) -> Iterator[None]:
        """While the engine does work of its own that is no step (a phase's end and its
        evaluation), the monitor starts no measurement (the one in progress ends)."""
        self._free.clear()
        try:
            yield
        finally:
            self._free.set()

    def request_path(self, job: PathJob) -> None:
        """Measure the path to `job.state` before the next snapshot (never dropped)."""
        self._paths.append(job)  # (the thread looks at least every TAKE_TIMEOUT_S)

    def flush(self, timeout: float = 600.0) -> None:
        """Measure what is still pending, then end the thread."""
        self._finishing.set()
        self.buffer.close()
        self._thread.join(timeout)
        if self._thread.is_alive():
            self.close()

    def close(self, timeout: float = 10.0) -> None:
        """End the thread after the measurement in progress; pending snapshots are dropped."""
        self._abandon.set()
        self.buffer.close()
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join(timeout)

    @property
    def alive(self) -> bool:
        return self._thread.is_alive()

    # -- the monitor thread --------------------------------------------------------------
    def _run(self) -> None:
        device = next(self.model.parameters()).device
        stream = torch.cuda.Stream(device) if device.type == "cuda" else None
        try:
            with torch.cuda.stream(stream) if stream is not None else contextlib.nullcontext():
                self._loop()
        except BaseException as err:  # report, never take the run down with it
            self._on_error(err)

    def _loop(self) -> None:
        while not self._abandon.is_set():
            if self._wait_if_held():
                continue
            if self._paths:
                self._path(self._paths.popleft())
                continue
            snap = self.buffer.take(TAKE_TIMEOUT_S)
            if snap is None:
                if self.buffer.closed and not self._paths:
                    return
                continue
            step, phase_index = snap.step, snap.phase_index
            # behind (more exact ASR/CA waiting after this one): those, to catch up, with a
            # heatmap frame where one is due (cheap: the probes only), so the heatmaps go
            # on at the pace of the catching up; TAR waits until it has caught up
            behind = snap.keep and len(self.buffer.kept_steps()) > 1
            plan = self.cadence.plan(step, CATCH_UP if behind else KINDS)
            if not plan:
                self.buffer.release(snap)
                continue
            t0 = time.perf_counter()
            self.governor.work_started()
            try:
                self.buffer.load_into(snap, self.model)
                measured = self.monitor.measure(self.model, plan)
            finally:
                self.governor.work_ended(frames="frame" in plan)
            busy = time.perf_counter() - t0
            self.measured += 1
            self.busy_seconds += busy
            if self._abandon.is_set():
                return
            self._report(step, phase_index, measured)
            if not self._finishing.is_set():
                self._rest(busy)

    def _path(self, job: PathJob) -> None:
        assert self._start is not None and self._report_path is not None
        t0 = time.perf_counter()
        self.governor.work_started()
        try:
            if self._scratch is None:
                self._scratch = frozen_copy(self.model)
            end = frozen_copy(self.model)
            end.load_state_dict(job.state)
            curve = path_curve(
                self._start, end, self._scratch, self.monitor.path_measure, self._path_points
            )
        finally:
            self.governor.work_ended()
        seconds = time.perf_counter() - t0
        self.busy_seconds += seconds
        if self._abandon.is_set():
            return
        self._report_path(job, curve, seconds)
        if not self._finishing.is_set():
            self._rest(seconds)

    def _wait_if_held(self) -> bool:
        """While the engine holds the monitor (held()), wait a little and say so."""
        if self._free.is_set() or self._finishing.is_set():
            return False
        self._free.wait(0.05)
        return True

    def _rest(self, busy: float) -> None:
        """Rest after `busy` seconds of work as the governor says, asking it again every
        REST_SLICE_S: its duty cycle follows training's step times, so a rest set by a
        long pass (the first, on a busy machine) ends as soon as the estimate allows."""
        start = time.monotonic()
        pause = self.governor.probe_pause()  # a quiet pause, when one is due
        self._wake.clear()
        while not (self._finishing.is_set() or self._abandon.is_set() or self._wake.is_set()):
            left = start + max(pause, self.governor.duty_rest(busy)) - time.monotonic()
            if left <= 0:
                return
            self._finishing.wait(min(left, REST_SLICE_S))
