"""Measure what each demo preset does, and write it where the presets and the form read it.

    UNLEARNSCOPE_TORCH_THREADS=1 nice -n 10 .venv/bin/python scripts/preset_outcomes.py \
        [--presets demo demo-anp ...] [--out backend/unlearnscope/preset_outcomes.json]

Each `demo*` preset (the built-in shapes data: no download) is run to its end on the CPU,
as `unlearnscope run` would, and judged with the one verdict (unlearnscope/verdict.py)
against its own success criteria. The file keeps, per preset: the verdict, the headline
numbers it rests on, and when, where and how long it was measured. Presets not re-run keep
their earlier entry. The new-run form shows the verdict beside the preset choice, so a
preset that demonstrates a defence failing says so before anyone starts it.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import torch

from unlearnscope.ml.checkpoints import FileModelStore
from unlearnscope.ml.engine import Engine
from unlearnscope.presets import OUTCOMES_FILE, PRESETS, preset_config
from unlearnscope.scores import headline
from unlearnscope.settings import Settings

KEEP = (
    "asr_before", "asr_after", "ca_before", "ca_after", "retention", "der", "asr_retuned",
    "asr_qra", "der_retuned", "steps",
)  # fmt: skip


HEADLINE = ("run_started", "evaluation", "measurement", "run_finished", "step")


def measure(name: str, cache: Path) -> dict[str, Any]:
    """Run preset `name` to its end; its headline numbers and verdict."""
    config = preset_config(name)
    events: list[dict[str, Any]] = []

    def emit(event: Any) -> None:
        if event.type in HEADLINE:
            events.append(event.model_dump(mode="json"))

    engine = Engine(
        config,
        emit,
        device="cpu",
        data_cache_dir=cache / "data",
        store=FileModelStore(cache / "models"),
    )
    t0 = time.perf_counter()
    state = engine.run(lambda block: [])
    seconds = time.perf_counter() - t0
    head = headline(events, None, config.success)
    return {
        "verdict": head["verdict"],
        "numbers": {k: head.get(k) for k in KEEP if k in head},
        "status": state.value,
        "measured": datetime.now(UTC).strftime("%Y-%m-%d"),
        "seconds": round(seconds, 1),
        "machine": f"{platform.machine()} cpu, torch {torch.__version__}, "
        f"{torch.get_num_threads()} thread(s)",
    }


def main(argv: list[str] | None = None) -> int:
    demos = [n for n in PRESETS if n == "demo" or n.startswith("demo-")]
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--presets", nargs="+", default=demos, choices=demos)
    parser.add_argument("--out", type=Path, default=OUTCOMES_FILE)
    parser.add_argument("--cache-dir", type=Path, default=None)
    args = parser.parse_args(argv)
    torch.set_num_threads(int(os.environ.get("UNLEARNSCOPE_TORCH_THREADS", "1")))
    cache = args.cache_dir or Settings().cache_dir
    out: dict[str, Any] = json.loads(args.out.read_text()) if args.out.exists() else {}
    for name in args.presets:
        print(f"{name}: running…", flush=True)
        out[name] = measure(name, cache)
        v = out[name]["verdict"]
        print(f"{name}: {v['label']} — {v['sentence']} ({out[name]['seconds']} s)", flush=True)
        ordered = {k: out[k] for k in PRESETS if k in out}
        args.out.write_text(json.dumps(ordered, indent=2, ensure_ascii=False) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
