"""What live monitoring costs training, and how much of the run it covers.

    python -m unlearnscope.bench.monitoring [--quick] [--device cpu]

Throughput: the same backdoored demo model (trained once, cached), the same schedule (no
early stop, so every variant runs the same steps) and the same seed; only `monitor`
differs:
  off      no frames, no TAR, no ASR/CA between steps
  in-loop  dense monitoring inside the training loop (`budget: 0`): a heatmap frame and
           TAR after every step, ASR/CA every 5 steps (the obvious alternative)
  live N%  the same dense plan on the live monitor with a budget of N% (1, 5 = the
           default, 20): frames and TAR as often as the governor allows, ASR/CA at every
           multiple of 5
each in two scenarios: quiet (nothing else running) and loaded (a CPU hog process on
every core training does not use, started and stopped by the bench around each row, the
same for every row). Throughput is steps / wall time of the step loop (phase-end
evaluations and event creation included, the final flush of the monitor not); variants
alternate in ABBA order within each repeat; speed vs off is the median over the repeats of
each repeat's ratio (its off ran beside it), the steps/s column the median speed. Per row: training
speed vs off in the same scenario, the slowdown that is (off time / its time - 1), the
slowdown the monitor's governor believed it caused (the mean of its status reports over
the second half of the run) and the density it reached (heatmap frames per step).

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

from ..events import EventBase, FramesEvent, Measurement, MonitorStatus, StepMetrics
from ..ml.checkpoints import FileModelStore
from ..ml.engine import Engine
from ..presets import preset_config
from ..settings import Settings
from .harness import CpuHogs

# path_points 0 everywhere: the backdoor-connected path measured at a phase's end runs on
# the live monitor when there is one and in the training loop when not, so with it "off"
# would pay for a measurement the live rows move off the clock
DENSE = {"frame_every": 1, "tar_every": 1, "eval_every": 5, "path_points": 0}
BUDGETS = (1.0, 5.0, 20.0)  # percent; 5 is the default (the "live" row)
VARIANTS: dict[str, dict[str, Any]] = {
    "off": {"frame_every": 0, "tar_every": 0, "eval_every": 0, "budget": 0.0, "path_points": 0},
    "in-loop": {**DENSE, "budget": 0.0},
    "live 1%": {**DENSE, "budget": 1.0},
    "live": {**DENSE, "budget": 5.0},
    "live 20%": {**DENSE, "budget": 20.0},
}
SCENARIOS = ("quiet", "loaded")
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


def _measure(variant: str, device: str, cache: Path, steps: int) -> dict[str, Any]:
    """One run of `variant`: steps/s, frames per step and the governor's mean estimate."""
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
    frames = sum(isinstance(e, FramesEvent) and e.step > 0 for e in events)
    believed = [
        e.slowdown
        for e in events
        if isinstance(e, MonitorStatus) and e.slowdown is not None and e.step > steps // 2
    ]
    return {
        "steps_per_s": engine.step_count / (last - start),
        "frames_per_step": frames / engine.step_count,
        "estimate": statistics.fmean(believed) if believed else None,
    }


def _row(
    scenario: str, variant: str, runs: list[dict[str, Any]], off: list[dict[str, Any]]
) -> dict[str, Any]:
    """A variant's row: its median speed, and its speed vs off as the median of the
    repeats' ratios (each repeat's off ran next to it, ABBA: the machine's drift between
    repeats, often more than the few percent measured, cancels)."""
    rate = statistics.median(r["steps_per_s"] for r in runs)
    ratio = statistics.median(
        r["steps_per_s"] / o["steps_per_s"] for r, o in zip(runs, off, strict=True)
    )
    estimates = [r["estimate"] for r in runs if r["estimate"] is not None]
    return {
        "scenario": scenario,
        "variant": variant,
        "budget": VARIANTS[variant]["budget"],
        "steps_per_s": rate,
        "ratio_vs_off": ratio,
        "slowdown_pct": 100.0 * (1.0 / ratio - 1.0),
        "estimate_pct": statistics.median(estimates) if estimates else None,
        "frames_per_step": statistics.median(r["frames_per_step"] for r in runs),
        "repeats": len(runs),
    }


def run_throughput(
    device: str, quick: bool, cache: Path, scenarios: tuple[str, ...] = SCENARIOS
) -> list[dict[str, Any]]:
    steps, repeats = (30, 1) if quick else (120, 5)
    # Train/cache the model, warm up (the shortest valid schedule: one recovery step).
    _measure("off", device, cache, SCHEDULE[0]["steps"] + 1)
    names = list(VARIANTS)
    threads = torch.get_num_threads() if device == "cpu" else 1
    rows = []
    for scenario in scenarios:
        runs: dict[str, list[dict[str, Any]]] = {v: [] for v in VARIANTS}
        for r in range(repeats):
            for variant in names if r % 2 == 0 else names[::-1]:  # ABBA
                with CpuHogs(threads if scenario == "loaded" else None):
                    runs[variant].append(_measure(variant, device, cache, steps))
        rows += [_row(scenario, v, values, runs["off"]) for v, values in runs.items()]
    return rows


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
    device: str = "cpu",
    quick: bool = False,
    cache: Path | None = None,
    scenarios: tuple[str, ...] = SCENARIOS,
    coverage: bool = True,
) -> list[dict[str, Any]]:
    cache = cache or Settings().cache_dir
    rows = run_throughput(device, quick, cache, scenarios)
    if not coverage:
        return rows
    return rows + [{"variant": "coverage", **r} for r in run_coverage(device, cache)]


def _pct(v: float | None) -> str:
    return "-" if v is None else f"{v:.1f}%"


def format_table(rows: list[dict[str, Any]]) -> str:
    lines = [
        "| machine | monitoring | steps/s | vs off | slowdown | governor's estimate "
        "| frames per step |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        if r["variant"] != "coverage":
            live = r["budget"] > 0
            lines.append(
                f"| {r['scenario']} | {r['variant']} | {r['steps_per_s']:.2f} | "
                f"{100 * r['ratio_vs_off']:.1f}% | {_pct(r['slowdown_pct'])} | "
                f"{_pct(r['estimate_pct']) if live else '-'} | {r['frames_per_step']:.2f} |"
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
    parser.add_argument(
        "--scenarios", default=",".join(SCENARIOS), help="quiet,loaded (comma-separated)"
    )
    parser.add_argument("--no-coverage", action="store_true", help="skip the demo's coverage")
    args = parser.parse_args(argv)
    scenarios = tuple(s for s in args.scenarios.split(",") if s)
    if not scenarios or any(s not in SCENARIOS for s in scenarios):
        parser.error(f"--scenarios: one or more of {', '.join(SCENARIOS)}")
    torch.set_num_threads(args.threads)
    print(f"torch threads {torch.get_num_threads()}, device {args.device}")
    rows = run_monitoring_bench(
        args.device, args.quick, scenarios=scenarios, coverage=not args.no_coverage
    )
    print(format_table(rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
