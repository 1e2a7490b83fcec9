"""Memory of the server and of the worker during the demo run, and the demo's wall time.

    python -m unlearnscope.bench.memory [--quick] [--device cpu]

A real server (uvicorn in a thread of this process, like `unlearnscope serve`) runs the
demo preset as the page's Start button does (POST /api/runs?preset=demo), with one
WebSocket client watching, as the page would. Memory is read from /proc (Linux):

  server  VmRSS of this process, sampled every 50 ms: at rest before the run (server up,
          torch imported, as `unlearnscope serve` does to resolve the device; the bench
          itself adds little), and its peak during the run;
  worker  VmHWM (the kernel's peak resident set) of the run's worker process, read until
          it exits, so it includes preparation (data, backdoor training, Fisher).

Wall time is from the POST to the run's last event at the client ("Start" to the final
table). Without --quick the run starts from an empty cache, so it generates the data and
trains the backdoored model, as on a fresh install; --quick reuses the shared cache.
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
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


def _settle(server: Any) -> None:
    """Wait until the server's start-up is done: it imports torch (to resolve the device)
    in a thread, which is most of its resident memory; `idle` should include it."""
    import torch  # noqa: F401  (what the server imports anyway)

    for thread in threading.enumerate():
        if thread.name == "resolve-device":
            thread.join(60)
    server.http.get("/api/health").raise_for_status()


def run_memory_bench(
    device: str = "cpu",
    quick: bool = False,
    preset: str = "demo",
    cache: Path | None = None,
    threads: int | None = None,
    cold: bool | None = None,
) -> list[dict[str, Any]]:
    """One `preset` run on a real server with one watching client; one row.

    cold (default: not quick): an empty model/data cache, as on a fresh install.
    """
    from ..settings import Settings
    from .streaming import BenchServer, measure_run

    cold = (not quick) if cold is None else cold
    fresh = Path(tempfile.mkdtemp(prefix="unlearnscope-bench-cache-")) if cold else None
    cache = fresh or cache or Settings().cache_dir
    try:
        with BenchServer(device=device, cache=cache, threads=threads) as server:
            _settle(server)
            idle = proc_status(os.getpid()).get("VmRSS")
            m = measure_run(server, {"name": f"bench-{preset}"}, preset, healthy=1, stalled=0)
    finally:
        if fresh is not None:
            shutil.rmtree(fresh, ignore_errors=True)
    return [
        {
            "preset": preset,
            "cache": "cold" if cold else "warm",
            "status": m.status,
            "steps": m.steps,
            "prep_s": m.prep_s,
            "end_to_end_s": m.end_to_end_s,
            "server_idle_mib": mib(idle),
            "server_peak_mib": mib(m.server_peak),
            "worker_peak_mib": mib(m.worker_peak),
        }
    ]


def format_table(rows: list[dict[str, Any]]) -> str:
    def num(v: float | None, fmt: str = ".0f") -> str:
        return "-" if v is None else format(v, fmt)

    lines = [
        "| run | cache | status | steps | preparation s | Start to final table s "
        "| server RSS idle / peak MiB | worker peak RSS MiB |",
        "|---|---|---|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        lines.append(
            f"| {r['preset']} | {r['cache']} | {r['status']} | {r['steps']} "
            f"| {num(r['prep_s'], '.1f')} | {num(r['end_to_end_s'], '.1f')} "
            f"| {num(r['server_idle_mib'])} / {num(r['server_peak_mib'])} "
            f"| {num(r['worker_peak_mib'])} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m unlearnscope.bench.memory")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--quick", action="store_true", help="reuse the shared model cache")
    parser.add_argument("--preset", default="demo")
    parser.add_argument("--threads", type=int, help="torch threads per worker (server default)")
    args = parser.parse_args(argv)
    print(f"load average {os.getloadavg()[0]:.2f}")
    print(format_table(run_memory_bench(args.device, args.quick, args.preset, None, args.threads)))
    print(f"load average {os.getloadavg()[0]:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
