"""What live monitoring costs training, and how much of the run it covers.

    python -m unlearnscope.bench.monitoring [--quick] [--device cpu]

Throughput: the same backdoored demo model (trained once, cached), the same schedule (no
early stop, so every variant runs the same steps) and the same seed; only `monitor`
differs:
  off      no frames, no TAR, no ASR/CA between steps
  in-loop  dense monitoring inside the training loop (`budget: 0`): a heatmap frame and
           TAR after every step, ASR/CA every 5 steps (the obvious alternative)
  live     the same dense plan on the concurrent monitor (`budget: 0.5`): frames and TAR
           as often as it keeps up, ASR/CA at every multiple of 5
Throughput is steps / wall time of the step loop (phase-end evaluations and event
creation included, the final flush of the monitor not); variants alternate in ABBA order
within each repeat and the table gives medians.

Coverage: the demo preset as a user starts it (with its early-stopped ascent) on the live
monitor: per phase, the share of steps that got a heatmap frame, a TAR value and the
largest gap between ASR/CA measurements.
"""

from __future__ import annotations

import argparse
import itertools
import statistics
import time
from pathlib import Path
from typing import Any

import torch

from ..events import EventBase, FramesEvent, Measurement, StepMetrics
from ..ml.checkpoints import FileModelStore
from ..ml.engine import Engine
from ..presets import preset_config
from ..settings import Settings

DENSE = {"frame_every": 1, "tar_every": 1, "eval_every": 5}
VARIANTS: dict[str, dict[str, Any]] = {
    "off": {"frame_every": 0, "tar_every": 0, "eval_every": 0, "budget": 0.0},
    "in-loop": {**DENSE, "budget": 0.0},
    "live": {**DENSE, "budget": 0.5},
}
SCHEDULE: list[dict[str, Any]] = [
    {"kind": "ascent", "steps": 20, "lr": 0.002, "momentum": 0.0, "ewc_lambda": 5000.0},
    {"kind": "recovery", "steps": 40, "lr": 0.005, "forget_weight": 1.0},
]


def _engine(cfg: Any, device: str, cache: Path, events: list[EventBase]) -> Engine:
    return Engine(
        cfg,
        events.append,
        device=device,
        data_cache_dir=cache / "data",
        store=FileModelStore(cache / "models"),
    )


def _steps_per_second(variant: str, device: str, cache: Path, steps: int) -> float:
    schedule = [dict(p) for p in SCHEDULE]
    schedule[1]["steps"] = steps - schedule[0]["steps"]
    cfg = preset_config("demo", {"schedule": schedule, "monitor": VARIANTS[variant]})
    events: list[EventBase] = []
    engine = _engine(cfg, device, cache, events)
    engine.prepare()
    threads = torch.get_num_threads()
    start = time.time()
    while engine.step():
        pass
    torch.set_num_threads(threads)  # the live monitor halves it while it runs
    last = max(e.t for e in events if isinstance(e, StepMetrics))
    return engine.step_count / (last - start)


def run_throughput(device: str, quick: bool, cache: Path) -> list[dict[str, Any]]:
    steps, repeats = (30, 2) if quick else (60, 3)
    runs: dict[str, list[float]] = {v: [] for v in VARIANTS}
    # Train/cache the model, warm up (the shortest valid schedule: one recovery step).
    _steps_per_second("off", device, cache, SCHEDULE[0]["steps"] + 1)
    names = list(VARIANTS)
    for r in range(repeats):
        for variant in names if r % 2 == 0 else names[::-1]:  # ABBA
            runs[variant].append(_steps_per_second(variant, device, cache, steps))
    base = statistics.median(runs["off"])
    return [
        {
            "variant": variant,
            "steps_per_s": statistics.median(values),
            "ratio_vs_off": statistics.median(values) / base,
            "repeats": len(values),
        }
        for variant, values in runs.items()
    ]


def run_coverage(device: str, cache: Path) -> list[dict[str, Any]]:
    """The demo preset on the live monitor: what each phase got."""
    cfg = preset_config("demo", {"monitor": VARIANTS["live"]})
    events: list[EventBase] = []
    engine = _engine(cfg, device, cache, events)
    threads = torch.get_num_threads()
    engine.run()
    torch.set_num_threads(threads)
    phase_of = {e.step: e.phase_index for e in events if isinstance(e, StepMetrics)}
    rows = []
    for phase in sorted(set(phase_of.values())):
        steps = sorted(s for s, p in phase_of.items() if p == phase)
        frames = {e.step for e in events if isinstance(e, FramesEvent) and e.step in steps}
        measured = [e for e in events if isinstance(e, Measurement) and e.step in steps]
        tar = {m.step for m in measured if m.tar_median is not None}
        evals = sorted({m.step for m in measured if m.ca is not None})
        bounds = [steps[0] - 1, *evals, steps[-1]]
        rows.append(
            {
                "phase": phase + 1,
                "kind": cfg.schedule[phase].kind,
                "steps": len(steps),
                "frame_share": len(frames) / len(steps),
                "tar_share": len(tar) / len(steps),
                "eval_steps": len(evals),
                "max_eval_gap": max(b - a for a, b in itertools.pairwise(bounds)),
                "max_lag": max((m.lag for m in measured), default=0),
            }
        )
    return rows


def run_monitoring_bench(
    device: str = "cpu", quick: bool = False, cache: Path | None = None
) -> list[dict[str, Any]]:
    cache = cache or Settings().cache_dir
    rows = run_throughput(device, quick, cache)
    return rows + [{"variant": "coverage", **r} for r in run_coverage(device, cache)]


def format_table(rows: list[dict[str, Any]]) -> str:
    lines = ["| monitoring | steps/s | vs off |", "|---|---:|---:|"]
    for r in rows:
        if r["variant"] != "coverage":
            lines.append(
                f"| {r['variant']} | {r['steps_per_s']:.2f} | {100 * r['ratio_vs_off']:.1f}% |"
            )
    lines += [
        "",
        "Live monitor on the demo preset (its own schedule, early stop included):",
        "| phase | steps | frames | TAR | ASR/CA points | largest ASR/CA gap | largest lag |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        if r["variant"] == "coverage":
            lines.append(
                f"| {r['phase']} {r['kind']} | {r['steps']} | {100 * r['frame_share']:.0f}% | "
                f"{100 * r['tar_share']:.0f}% | {r['eval_steps']} | {r['max_eval_gap']} steps | "
                f"{r['max_lag']} steps |"
            )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--threads", type=int, default=1, help="torch threads of training")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    print(f"torch threads {torch.get_num_threads()}, device {args.device}")
    print(format_table(run_monitoring_bench(args.device, args.quick)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
