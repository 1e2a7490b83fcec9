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
from pathlib import Path
from typing import Any

from .procstats import mib, proc_status


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
    from .harness import BenchServer, measure_run

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
