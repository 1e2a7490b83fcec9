"""`unlearnscope bench`: every measurement side by side in one process, then the targets.

    unlearnscope bench [--device cpu|cuda] [--model small_cnn|resnet18] [--quick]
                       [--only cam,monitoring,streaming,memory] [--threads N]
    unlearnscope bench compare [--runs 12] [--run-steps 2000] [--moves 240]
                       (the compare view in Chromium, alone: bench/compare.py)
    unlearnscope bench --executor ray [--quick] [--runs 20] [--ray-address ADDR]

Sections (each prints its own table of medians, with the load average around it):
  cam         our Grad-CAM vs pytorch-grad-cam, ms per batch (bench/cam.py)
  monitoring  unlearning steps/s with monitoring off / in the loop / live (budgets 1, 5,
              20%), on a quiet and on a loaded machine (CPU hogs on the other cores),
              and the live monitor's coverage of the demo (bench/monitoring.py)
  streaming   a real server with 0, 1, 10, 50 WebSocket clients (bench/streaming.py)
  memory      the demo run on a real server: wall time, server and worker RSS (bench/memory.py)
  executors   local worker processes vs Ray actors (`--executor ray`; not in the default
              set: it needs the `ray` extra) (bench/executors.py)
  import      a user's ResNet-18 checkpoint to the first heatmap, vs the same model from
              the cache (not in the default set) (bench/import_model.py)
  vitcam      our Grad-CAM on ViT tokens vs pytorch-grad-cam with reshape_transform (not
              in the default set) (bench/vit_cam.py)
The server sections run first, so the server's memory is read before the in-process
sections load their models. Numbers taken while other jobs share the CPU are inflated:
compare rows of one table (taken together), and read the load average printed with it.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
import traceback
from pathlib import Path
from typing import Any

SECTIONS = ("cam", "monitoring", "streaming", "memory")
OPTIONAL = ("executors", "import", "vitcam")  # only when asked for (--executor ray, or --only)
# the server's memory first
ORDER = ("memory", "streaming", "executors", "cam", "monitoring", "import", "vitcam")
MODELS = ("small_cnn", "resnet18")

# The targets (2 CPU cores).
MIN_LIVE_RATIO_PCT = 95.0  # training steps/s with dense live monitoring vs monitoring off
FRAME_EVERY_AT_LEAST = 3  # the demo gets a heatmap frame for at least one step in three
MAX_FANOUT_SLOWDOWN_PCT = 5.0  # 50 clients, one stalled
MAX_FANOUT_P95_MS = 50.0
MIN_CAM_SPEEDUP = 3.0  # ResNet-18, batch 16
MAX_DEMO_S = 120.0


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from ..bench import compare

    parser.add_argument(
        "what",
        nargs="?",
        choices=("compare",),
        help="compare: only the compare view's browser benchmark (bench/compare.py)",
    )
    compare.add_arguments(parser)
    parser.add_argument("--device", default="cpu", help="cpu | cuda | cuda:N (default cpu)")
    parser.add_argument(
        "--model", choices=MODELS, help="Grad-CAM section: only this model (default both)"
    )
    parser.add_argument(
        "--quick", action="store_true", help="fewer repeats and steps (minutes, not tens)"
    )
    parser.add_argument(
        "--only",
        default=",".join(SECTIONS),
        help=f"comma-separated sections to run (default all: {','.join(SECTIONS)})",
    )
    parser.add_argument(
        "--threads",
        type=int,
        help="torch CPU threads for every section (the workers' UNLEARNSCOPE_TORCH_THREADS; "
        "default: each section's own, i.e. torch's for the server, all cores for Grad-CAM); "
        "1 on a CPU that other jobs keep busy",
    )
    parser.add_argument(
        "--clients", default="0,1,10,50", help="streaming: client counts (default 0,1,10,50)"
    )
    parser.add_argument(
        "--preset", default="demo", help="streaming and memory: the run's preset (default demo)"
    )
    parser.add_argument("--repeats", type=int, help="streaming: runs per client count")
    parser.add_argument("--steps", type=int, help="streaming: steps per run")
    parser.add_argument(
        "--cache-dir", help="backdoored-model and data cache (default ~/.unlearnscope/cache)"
    )
    parser.add_argument("--json", help="also write every row as JSON to this file")
    parser.add_argument(
        "--executor",
        choices=("local", "ray"),
        help="ray: compare runs on Ray actors with local worker processes (section "
        "executors: latency, steps/s, POST to first step, --runs tiny runs at once on a "
        "two-node local Ray cluster); the default set of sections otherwise",
    )
    parser.add_argument(
        "--runs",
        type=int,
        help="compare: finished runs (default 12); executors: tiny runs posted at once "
        "(default 20)",
    )
    parser.add_argument(
        "--ray-address",
        help="executors: an existing Ray cluster (default: a two-node cluster started here)",
    )


class BenchError(ValueError):
    """Bad bench arguments; the message says what is allowed."""


def parse_only(text: str) -> tuple[str, ...]:
    names = tuple(x.strip() for x in text.split(",") if x.strip())
    bad = [x for x in names if x not in SECTIONS + OPTIONAL]
    if bad or not names:
        raise BenchError(f"--only {text!r}: choose from {','.join(SECTIONS + OPTIONAL)}")
    return names


def load_average() -> str:
    if not hasattr(os, "getloadavg"):
        return "n/a"
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def _section(title: str, run: Any, fmt: Any) -> list[dict[str, Any]] | None:
    """Run one section and print its table; None (after printing why) when it failed, so
    one broken section does not lose the others' numbers."""
    print(f"\n## {title}\nload average (1/5/15 min) before: {load_average()}", flush=True)
    start = time.perf_counter()
    try:
        rows = run()
    except Exception:
        traceback.print_exc()
        print(f"FAILED after {time.perf_counter() - start:.0f} s (traceback above)", flush=True)
        return None
    print(fmt(rows))
    print(f"load average after: {load_average()}; {time.perf_counter() - start:.0f} s", flush=True)
    measured: list[dict[str, Any]] = rows
    return measured


def run_all(args: argparse.Namespace) -> tuple[dict[str, list[dict[str, Any]]], list[str]]:
    """Run the selected sections, printing each table when it is done, then the targets.

    Returns the rows of each section that ran and the names of those that failed."""
    only = parse_only(args.only)  # bad arguments fail before the slow imports
    if getattr(args, "executor", None) == "ray" and args.only == ",".join(SECTIONS):
        only = ("executors",)  # `bench --executor ray`: that comparison alone
    if args.runs is None:
        args.runs = 20
    if "executors" in only and args.runs < 1:
        raise BenchError(f"--runs {args.runs}: give at least 1")
    from ..bench import streaming

    try:
        counts = streaming.parse_counts(args.clients)
    except ValueError as err:
        raise BenchError(str(err)) from None

    import torch

    from ..bench import cam, executors, import_model, memory, monitoring, vit_cam

    if args.device.startswith("cuda") and not torch.cuda.is_available():
        raise BenchError(f"--device {args.device}: no CUDA device here; use --device cpu")
    cache = Path(args.cache_dir) if args.cache_dir else None
    threads = args.threads
    models = (args.model,) if args.model else None
    print(
        f"unlearnscope bench: {' '.join(s for s in ORDER if s in only)}; device {args.device}; "
        f"torch {torch.__version__}; {os.cpu_count()} CPU cores; Python "
        f"{platform.python_version()}; torch threads {threads or 'default'}; "
        f"{'quick' if args.quick else 'full'}",
        flush=True,
    )
    sections: dict[str, tuple[str, Any, Any]] = {
        "memory": (
            f"Memory and wall time: the {args.preset} run on a real server",
            lambda: memory.run_memory_bench(args.device, args.quick, args.preset, cache, threads),
            memory.format_table,
        ),
        "streaming": (
            f"Streaming: engine steps/s and latency with {counts} WebSocket clients",
            lambda: streaming.run_streaming_bench(
                args.device,
                args.quick,
                counts,
                args.preset,
                cache,
                threads,
                args.steps,
                args.repeats,
            ),
            streaming.format_table,
        ),
        "executors": (
            f"Executors: local worker processes vs Ray actors (tiny preset; {args.runs} at once)",
            lambda: executors.run_executor_bench(
                args.quick, cache, args.runs, args.ray_address, args.steps, args.repeats
            ),
            executors.format_table,
        ),
        "cam": (
            "Grad-CAM: ours vs pytorch-grad-cam (ms per batch)",
            lambda: cam.run_cam_bench(args.device, args.quick, ("gradcam",), threads, models),
            cam.format_table,
        ),
        "monitoring": (
            "Monitoring overhead (unlearning steps/s, in this process)",
            lambda: monitoring.run_monitoring_bench(args.device, args.quick, cache),
            monitoring.format_table,
        ),
        "import": (
            "Your model: a ResNet-18 checkpoint to the first heatmap (s), vs the cached model",
            lambda: import_model.run_import_bench(args.device, args.quick),
            import_model.format_table,
        ),
        "vitcam": (
            "Grad-CAM on a ViT's tokens: ours vs pytorch-grad-cam with reshape_transform",
            lambda: vit_cam.run(threads or 1, repeats=2 if args.quick else 5),
            vit_cam.format_table,
        ),
    }
    results: dict[str, list[dict[str, Any]]] = {}
    failed: list[str] = []
    for name in ORDER:
        if name not in only:
            continue
        if name in ("monitoring", "import") and threads:
            torch.set_num_threads(threads)  # it runs the engine in this process
        rows = _section(*sections[name])
        if rows is None:
            failed.append(name)
        else:
            results[name] = rows
    print("\n## Targets")
    print(format_targets(check_targets(results)))
    print(f"load average at the end: {load_average()}")
    if failed:
        print(f"FAILED sections: {', '.join(failed)}")
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2, default=str))
    return results, failed


def check_targets(
    results: dict[str, list[dict[str, Any]]],
) -> list[tuple[str, str, bool | None]]:
    """(target, measured, passed) per target; passed None when not measured."""
    out: list[tuple[str, str, bool | None]] = []
    # per scenario (quiet, loaded machine), the default budget's row ("live")
    mon = {(r.get("scenario"), r["variant"]): r for r in results.get("monitoring", [])}
    target = f"live dense monitoring: training at >= {MIN_LIVE_RATIO_PCT:g}% of steps/s off"
    lives = [(sc, r) for (sc, v), r in mon.items() if v == "live"]
    if not lives:
        out.append((target, "not run", None))
    for scenario, r in lives:
        pct = 100.0 * r["ratio_vs_off"]
        inloop = mon.get((scenario, "in-loop"))
        vs = f"in-loop: {100.0 * inloop['ratio_vs_off']:.1f}%, " if inloop else ""
        got = f"{pct:.1f}% ({vs}{r['frames_per_step']:.2f} frames per step)"
        where = target.replace("monitoring:", f"monitoring, {scenario} machine:")
        out.append((where, got, pct >= MIN_LIVE_RATIO_PCT))
    target = f"demo: a heatmap frame on >= 1 step in {FRAME_EVERY_AT_LEAST} in every phase"
    cov = [r for r in results.get("monitoring", []) if r["variant"] == "coverage"]
    if not cov:
        out.append((target, "not run", None))
    else:
        shares = ", ".join(f"{r['kind']} {100 * r['frame_share']:.0f}%" for r in cov)
        ok = all(r["frame_share"] >= 1.0 / FRAME_EVERY_AT_LEAST for r in cov)
        out.append((target, shares, ok))

    fan = next((r for r in results.get("streaming", []) if r["clients"] == 50), None)
    target = f"50 clients (1 stalled): engine slowdown <= {MAX_FANOUT_SLOWDOWN_PCT:g}%"
    if fan is None or fan["ratio"] is None:
        out.append((target, "not run (needs --clients with 0 and 50)", None))
    else:
        slowdown = 100.0 * (1.0 - fan["ratio"])
        out.append((target, f"{slowdown:+.1f}%", slowdown <= MAX_FANOUT_SLOWDOWN_PCT))
    target = f"50 clients (1 stalled): healthy p95 latency <= {MAX_FANOUT_P95_MS:g} ms"
    if fan is None or fan["p95_ms"] is None:
        out.append((target, "not run", None))
    else:
        out.append((target, f"{fan['p95_ms']:.1f} ms", fan["p95_ms"] <= MAX_FANOUT_P95_MS))

    cam16 = next(
        (
            r
            for r in results.get("cam", [])
            if r["model"] == "resnet18" and r["batch"] == 16 and r["method"] == "gradcam"
        ),
        None,
    )
    target = (
        f"Grad-CAM >= {MIN_CAM_SPEEDUP:g}x pytorch-grad-cam (ResNet-18, batch 16), maps within 1e-3"
    )
    if cam16 is None or cam16["speedup"] is None:
        out.append((target, "not run", None))
    else:
        ok = cam16["speedup"] >= MIN_CAM_SPEEDUP and bool(cam16["match"])
        diff = cam16["max_abs_diff"]
        measured = f"{cam16['speedup']:.2f}x on {cam16['device']}, maps differ <= {diff:.1e}"
        out.append((target, measured, ok))

    demo = next((r for r in results.get("memory", []) if r["preset"] == "demo"), None)
    target = f"demo, Start to final table <= {MAX_DEMO_S:g} s"
    if demo is None or demo["end_to_end_s"] is None:
        out.append((target, "not run", None))
    else:
        s = demo["end_to_end_s"]
        out.append(
            (target, f"{s:.1f} s ({demo['cache']} cache, {demo['status']})", s <= MAX_DEMO_S)
        )
    return out


def format_targets(rows: list[tuple[str, str, bool | None]]) -> str:
    lines = ["| target | measured | |", "|---|---|---|"]
    for target, measured, passed in rows:
        verdict = "-" if passed is None else ("PASS" if passed else "MISS")
        lines.append(f"| {target} | {measured} | {verdict} |")
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    if getattr(args, "what", None) == "compare":
        from ..bench.compare import cmd_compare

        return cmd_compare(args)
    try:
        _, failed = run_all(args)
    except BenchError as err:
        print(f"unlearnscope bench: error: {err}", file=sys.stderr)
        return 2
    return 1 if failed else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m unlearnscope.bench", description=__doc__)
    add_arguments(parser)
    return run(parser.parse_args(argv))
