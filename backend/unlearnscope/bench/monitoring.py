"""What live monitoring costs: unlearning steps/s with monitoring off, default and heavy.

    python -m unlearnscope.bench.monitoring [--quick] [--device cpu]

The same backdoored demo model (trained once, cached), the same schedule (no early stop,
so every variant runs the same steps) and the same seed; only `monitor` differs:
  off      no frames, no TAR, no ASR/CA between steps
  default  the RunConfig defaults (a 10% wall-time budget)
  heavy    heatmap frames and TAR after every step, ASR/CA every 5 steps, no budget
Throughput is steps / wall time of the step loop (monitoring and event creation
included); variants alternate within each repeat, and the table gives medians.
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path
from typing import Any

import torch

from ..ml.checkpoints import FileModelStore
from ..ml.engine import Engine
from ..presets import preset_config
from ..settings import Settings

VARIANTS: dict[str, dict[str, Any]] = {
    "off": {"frame_every": 0, "tar_every": 0, "eval_every": 0, "budget": 0.0},
    "default": {},
    "heavy": {"frame_every": 1, "tar_every": 1, "eval_every": 5, "budget": 0.0},
}
SCHEDULE = [
    {"kind": "ascent", "steps": 20, "lr": 0.002, "momentum": 0.0, "ewc_lambda": 5000.0},
    {"kind": "recovery", "steps": 40, "lr": 0.005, "forget_weight": 1.0},
]


def _steps_per_second(variant: str, device: str, cache: Path, steps: int) -> float:
    schedule = [dict(p) for p in SCHEDULE]
    schedule[1]["steps"] = steps - schedule[0]["steps"]
    cfg = preset_config("demo", {"schedule": schedule})
    cfg = cfg.model_copy(update={"monitor": cfg.monitor.model_copy(update=VARIANTS[variant])})
    engine = Engine(
        cfg,
        lambda e: None,
        device=device,
        data_cache_dir=cache / "data",
        store=FileModelStore(cache / "models"),
    )
    engine.prepare()
    start = time.perf_counter()
    while engine.step():
        pass
    return engine.step_count / (time.perf_counter() - start)


def run_monitoring_bench(
    device: str = "cpu", quick: bool = False, cache: Path | None = None
) -> list[dict[str, Any]]:
    cache = cache or Settings().cache_dir
    steps, repeats = (30, 2) if quick else (60, 3)
    runs: dict[str, list[float]] = {v: [] for v in VARIANTS}
    # Train/cache the model, warm up (the shortest valid schedule: one recovery step).
    _steps_per_second("off", device, cache, SCHEDULE[0]["steps"] + 1)
    for _ in range(repeats):
        for variant in VARIANTS:
            runs[variant].append(_steps_per_second(variant, device, cache, steps))
    base = statistics.median(runs["off"])
    rows = []
    for variant, values in runs.items():
        sps = statistics.median(values)
        rows.append(
            {
                "variant": variant,
                "steps_per_s": sps,
                "overhead_pct": 100.0 * (base / sps - 1.0),
                "repeats": len(values),
            }
        )
    return rows


def format_table(rows: list[dict[str, Any]]) -> str:
    lines = ["| monitoring | steps/s | overhead vs off |", "|---|---:|---:|"]
    for r in rows:
        lines.append(f"| {r['variant']} | {r['steps_per_s']:.2f} | {r['overhead_pct']:+.1f}% |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args(argv)
    print(f"torch threads {torch.get_num_threads()}, device {args.device}")
    print(format_table(run_monitoring_bench(args.device, args.quick)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
