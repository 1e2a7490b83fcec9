"""What a process uses, read from /proc (Linux): resident memory and CPU time, sampled."""

from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass, field
from typing import Any

KIB = 1024
SAMPLE_EVERY_S = 0.05


def proc_status(pid: int) -> dict[str, int]:
    """VmRSS and VmHWM of a process in bytes ({} when it is gone or not on Linux)."""
    out: dict[str, int] = {}
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith(("VmRSS:", "VmHWM:")):
                    key, value = line.split(":", 1)
                    out[key] = int(value.split()[0]) * KIB  # the kernel writes kB
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return {}
    return out


def proc_cpu_seconds(pid: int) -> float | None:
    """User + system CPU seconds a process used so far (its own threads, not children)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return None
    # after "pid (comm)": state is fields[0], utime fields[11], stime fields[12]
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@dataclass
class Sample:
    t: float  # time.time()
    rss: int | None
    hwm: int | None
    cpu: float | None


@dataclass
class ProcSampler:
    """Samples RSS, peak RSS and CPU time of named processes in a background thread.

    A pid can be added while it runs (`watch`); a process that exited keeps its last
    samples, so a worker's VmHWM read just before it ended is its peak.
    """

    every: float = SAMPLE_EVERY_S
    samples: dict[str, list[Sample]] = field(default_factory=dict)
    _pids: dict[str, int] = field(default_factory=dict)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def watch(self, name: str, pid: int) -> None:
        self._pids[name] = pid
        self.samples.setdefault(name, [])
        self._sample(name, pid)

    def _sample(self, name: str, pid: int) -> None:
        status = proc_status(pid)
        if not status:
            return
        cpu = proc_cpu_seconds(pid)
        sample = Sample(time.time(), status.get("VmRSS"), status.get("VmHWM"), cpu)
        self.samples[name].append(sample)

    def _loop(self) -> None:
        while not self._stop.wait(self.every):
            for name, pid in list(self._pids.items()):
                self._sample(name, pid)

    def __enter__(self) -> ProcSampler:
        self._thread = threading.Thread(target=self._loop, name="proc-sampler", daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5)
        for name, pid in self._pids.items():
            self._sample(name, pid)

    # -- readings ------------------------------------------------------------------------
    def peak_rss(self, name: str, start: float = 0.0, end: float = float("inf")) -> int | None:
        values = [s.rss for s in self.samples.get(name, []) if start <= s.t <= end and s.rss]
        return max(values) if values else None

    def peak_hwm(self, name: str) -> int | None:
        values = [s.hwm for s in self.samples.get(name, []) if s.hwm]
        return max(values) if values else None

    def cpu_share(self, name: str, start: float, end: float) -> float | None:
        """CPU seconds per wall second over [start, end] (1.0 = one core busy)."""
        inside = [s for s in self.samples.get(name, []) if s.cpu is not None]
        if not inside:
            return None
        first = min(inside, key=lambda s: abs(s.t - start))
        last = min(inside, key=lambda s: abs(s.t - end))
        if last.t - first.t <= 0 or first.cpu is None or last.cpu is None:
            return None
        return (last.cpu - first.cpu) / (last.t - first.t)


def mib(n: int | None) -> float | None:
    return None if n is None else n / 2**20
