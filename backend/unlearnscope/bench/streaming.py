"""Fan-out cost: engine steps/s and step-to-client latency with 0..50 WebSocket clients.

    python -m unlearnscope.bench.streaming [--quick] [--clients 0,1,10,50] [--device cpu]

A real server on 127.0.0.1 (uvicorn in a thread of this process, `create_app` on a tmp
home, the shared model cache, torch threads as the server sets them) runs a fixed-length
schedule on the demo preset with `monitor.budget: 0`: a heatmap frame and TAR after every
step, ASR/CA every 5 steps, no early stop, so every run has the same steps and events.
Each run has N clients connected before its first step; with N >= 10 one of them is a
raw socket that never reads (a stalled browser tab), the others read everything.

  steps/s   (steps - 1) / (t of the last step event - t of the first): the engine's own
            pace while running, preparation excluded; ratio to the run with no client;
  latency   receive time at a healthy client - the engine's `t` on the event (both
            time.time() on one machine), every event between the first and last step;
  CPU       cores used by the server process and by the client process while running.

The clients offer per-message deflate, as browsers do; the server declines it, as
`unlearnscope serve` does (`--deflate`: accept it, uvicorn's default, to see what it cost:
one compression of every message per client).

The clients run in one child process (one asyncio loop, `websockets`), not in a thread
of this one: here they would share the GIL with the server's event loop and slow the
fan-out they measure. They keep only each message's receive time and JSON header while
the run goes and decode after it ends; their CPU share is printed, so a table whose
clients were the bottleneck says so. Scenarios alternate within each repeat, in
ABBA order (so background load hits them alike); the table gives medians over repeats.
"""

from __future__ import annotations

import argparse
import os
import statistics
from pathlib import Path
from typing import Any

from .harness import (
    CLIENT_COUNTS,
    STALL_FROM,
    BenchServer,
    RunMeasurement,
    measure_run,
    median_or_none,
    percentile,
)
from .procstats import mib


def stream_body(preset: str, steps: int) -> dict[str, Any]:
    """A fixed-length schedule on `preset`: every step streams a frame, no early stop."""
    from ..presets import PRESETS

    batch = PRESETS[preset]["schedule"][0].get("batch_size", 64)
    ascent = max(1, min(20, steps // 4))
    return {
        "name": "bench-stream",
        "monitor": {"budget": 0.0, "frame_every": 1, "tar_every": 1},
        "schedule": [
            {"kind": "ascent", "steps": ascent, "lr": 0.002, "momentum": 0.0,
             "batch_size": batch, "ewc_lambda": 5000.0, "loss_clamp": 3.0},
            {"kind": "recovery", "steps": steps - ascent, "lr": 0.005, "batch_size": batch,
             "forget_weight": 1.0},
        ],
    }  # fmt: skip


def run_streaming_bench(
    device: str = "cpu",
    quick: bool = False,
    clients: tuple[int, ...] = CLIENT_COUNTS,
    preset: str = "demo",
    cache: Path | None = None,
    threads: int | None = None,
    steps: int | None = None,
    repeats: int | None = None,
    deflate: bool = False,
) -> list[dict[str, Any]]:
    """One row per client count: medians over repeats (see the module's docstring).

    deflate: per-message deflate on (uvicorn's default; `serve` turns it off).
    """
    from ..settings import Settings

    steps = steps or (40 if quick else 120)
    repeats = repeats or (1 if quick else 3)
    body = stream_body(preset, steps)
    runs: dict[int, list[RunMeasurement]] = {n: [] for n in clients}
    cache = cache or Settings().cache_dir
    with BenchServer(device, cache, threads, deflate) as s:
        # A first run trains/caches the backdoored model and warms the data cache; not timed.
        measure_run(s, {**body, "name": "warm-up", "schedule": body["schedule"][:1]}, preset, 0, 0)
        for r in range(repeats):
            # ABBA order (forwards, backwards, ...): a load that drifts over the minutes
            # of a repeat does not favour the scenarios that come late.
            for n in clients if r % 2 == 0 else clients[::-1]:
                stalled = 1 if n >= STALL_FROM else 0
                runs[n].append(measure_run(s, body, preset, n - stalled, stalled))
    base = median_or_none([m.steps_per_s for m in runs[0]]) if 0 in runs else None
    rows = []
    for n, ms in runs.items():
        sps = median_or_none([m.steps_per_s for m in ms])
        rows.append(
            {
                "clients": n,
                "stalled": 1 if n >= STALL_FROM else 0,
                "steps": statistics.median(m.steps for m in ms),
                "steps_per_s": sps,
                "steps_per_s_runs": [m.steps_per_s for m in ms],
                "ratio": sps / base if sps and base else None,
                "p50_ms": median_or_none([percentile(m.latencies_ms, 50) for m in ms]),
                "p95_ms": median_or_none([percentile(m.latencies_ms, 95) for m in ms]),
                "frames_p95_ms": median_or_none([percentile(m.frame_latencies_ms, 95) for m in ms]),
                "events_per_s": median_or_none([m.events_per_s for m in ms]),
                "kib_per_s": median_or_none([m.kib_per_s for m in ms]),
                "max_ms": max((max(m.latencies_ms) for m in ms if m.latencies_ms), default=None),
                "skipped": sum(m.skipped for m in ms),
                "late_clients": any(m.late_clients for m in ms),
                "server_cpu": median_or_none([m.server_cpu for m in ms]),
                "worker_cpu": median_or_none([m.worker_cpu for m in ms]),
                "clients_cpu": median_or_none([m.clients_cpu for m in ms]),
                "server_peak_mib": mib(max((m.server_peak or 0) for m in ms) or None),
                "worker_peak_mib": mib(max((m.worker_peak or 0) for m in ms) or None),
                "status": ",".join(sorted({m.status for m in ms})),
                "repeats": len(ms),
            }
        )
    return rows


def format_table(rows: list[dict[str, Any]]) -> str:
    def num(v: float | None, fmt: str = ".1f") -> str:
        return "-" if v is None else format(v, fmt)

    def pct(v: float | None) -> str:
        return "-" if v is None else f"{100 * v:.0f}%"

    lines = [
        "| clients (stalled) | steps/s | vs 0 clients | latency p50 ms | p95 ms | frames p95 ms "
        "| max ms | per client events/s, KiB/s | skipped | CPU server / worker / clients "
        "| server peak RSS MiB |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        ratio = "-" if r["ratio"] is None else f"{r['ratio']:.3f}"
        late = " (late)" if r["late_clients"] else ""
        lines.append(
            f"| {r['clients']} ({r['stalled']}){late} | {num(r['steps_per_s'], '.2f')} "
            f"| {ratio} | {num(r['p50_ms'])} | {num(r['p95_ms'])} | {num(r['frames_p95_ms'])} "
            f"| {num(r['max_ms'], '.0f')} "
            f"| {num(r['events_per_s'])}, {num(r['kib_per_s'], '.0f')} | {r['skipped']} "
            f"| {pct(r['server_cpu'])} / {pct(r['worker_cpu'])} / {pct(r['clients_cpu'])} "
            f"| {num(r['server_peak_mib'], '.0f')} |"
        )
    return "\n".join(lines)


def parse_counts(text: str) -> tuple[int, ...]:
    counts = tuple(int(x) for x in text.split(",") if x.strip())
    if not counts or any(n < 0 for n in counts):
        raise ValueError(f"--clients {text!r}: give counts like 0,1,10,50")
    return counts


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m unlearnscope.bench.streaming")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--quick", action="store_true", help="40 steps, one repeat")
    parser.add_argument("--clients", default="0,1,10,50", help="client counts (default 0,1,10,50)")
    parser.add_argument("--preset", default="demo")
    parser.add_argument("--steps", type=int)
    parser.add_argument("--repeats", type=int)
    parser.add_argument("--threads", type=int, help="torch threads per worker (server default)")
    parser.add_argument(
        "--deflate", action="store_true", help="per-message deflate on (as before the fix)"
    )
    args = parser.parse_args(argv)
    print(f"load average {os.getloadavg()[0]:.2f}")
    rows = run_streaming_bench(
        args.device, args.quick, parse_counts(args.clients), args.preset, None, args.threads,
        args.steps, args.repeats, args.deflate,
    )  # fmt: skip
    print(format_table(rows))
    print(f"load average {os.getloadavg()[0]:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
