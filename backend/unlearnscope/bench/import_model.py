"""From a user's ResNet-18 checkpoint to the first heatmap, against the same model loaded
from UnlearnScope's own cache (the obvious alternative: it was trained here earlier).

Each row runs the engine's preparation (data, model, Fisher estimate, the evaluation
before unlearning, the first probe frames) and times it until the first heatmap frame,
with the stages' own times. The data is the built-in shapes set (no download); the model
is the registry's `resnet18` (11.2M parameters), trained once for one epoch to make the
cache entry and the exported checkpoints. Rows: the cache hit, the user's `.pt` (a
`state_dict` wrapper with DataParallel's `module.` prefix) and the same weights as
safetensors.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import save_file

from ..events import EventBase, FramesEvent, Progress
from ..ml.checkpoints import FileModelStore
from ..ml.engine import Engine
from ..ml.preparation import prepare
from ..presets import preset_config

SCHEDULE = [{"kind": "recovery", "steps": 1, "lr": 0.001, "batch_size": 16, "forget_weight": 0}]


def _config(overrides: dict[str, Any]) -> Any:
    base: dict[str, Any] = {
        "data": {"train_size": 600, "test_size": 200},
        "model": {"name": "resnet18"},
        "training": {"epochs": 1, "batch_size": 64},
        "monitor": {"budget": 0},
        "schedule": SCHEDULE,
    }
    for key, value in overrides.items():
        base[key] = {**base.get(key, {}), **value} if isinstance(value, dict) else value
    return preset_config("tiny", base)


def _first_heatmap(cfg: Any, device: str, store: FileModelStore | None) -> dict[str, float]:
    """Seconds to the first frames event, and per preparation stage."""
    t0 = time.perf_counter()
    marks: dict[str, float] = {}

    def emit(e: EventBase) -> None:
        now = time.perf_counter() - t0
        if isinstance(e, Progress):
            marks.setdefault(f"{e.stage}_start", now)
            marks[f"{e.stage}_end"] = now
        if isinstance(e, FramesEvent) and "frame" not in marks:
            marks["frame"] = now

    engine = Engine(cfg, emit, device=device, store=store)
    engine.prepare()
    engine.handle({"op": "stop"})
    model_stage = "model" if "model_start" in marks else "attack_training"
    return {
        "total_s": marks["frame"],
        "data_s": marks.get("data_end", 0.0) - marks.get("data_start", 0.0),
        "model_s": marks.get(f"{model_stage}_end", 0.0) - marks.get("data_end", 0.0),
        "fisher_s": marks.get("fisher_end", 0.0) - marks.get("fisher_start", 0.0),
    }


def run_import_bench(device: str, quick: bool) -> list[dict[str, Any]]:
    repeats = 1 if quick else 3
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        store = FileModelStore(folder / "cache")
        trained = _config({})
        p = prepare(trained, torch.device(device), store=store)  # the cache entry
        net = p.model.get_submodule("net")
        state = {k: v.detach().cpu().contiguous() for k, v in net.state_dict().items()}
        pt, st = folder / "resnet18.pt", folder / "resnet18.safetensors"
        torch.save({"state_dict": {f"module.{k}": v for k, v in state.items()}}, pt)
        save_file(state, str(st))
        variants = [
            ("cached (trained here)", trained, store, None),
            ("your .pt (state_dict, module.)", None, None, pt),
            ("your .safetensors", None, None, st),
        ]
        rows = []
        for name, cfg, use_store, path in variants:
            if path is not None:
                cfg = _config(
                    {"model": {"source": "file", "file": str(path)}, "attack": {"known": True}}
                )
            times = [_first_heatmap(cfg, device, use_store) for _ in range(repeats)]
            row: dict[str, Any] = {"variant": name, "file_mb": None}
            if path is not None:
                row["file_mb"] = path.stat().st_size / 1e6
            for key in times[0]:
                row[key] = statistics.median(t[key] for t in times)
            rows.append(row)
    base = rows[0]["total_s"]
    for row in rows:
        row["ratio_vs_cached"] = row["total_s"] / base if base else None
    return rows


def format_table(rows: list[dict[str, Any]]) -> str:
    header = (
        f"{'variant':<32} {'file MB':>8} {'first heatmap s':>16} {'data s':>7} "
        f"{'model s':>8} {'Fisher s':>9} {'vs cached':>10}"
    )
    lines = [header, "-" * len(header)]
    for r in rows:
        size = "-" if r["file_mb"] is None else f"{r['file_mb']:.1f}"
        ratio = "-" if r["ratio_vs_cached"] is None else f"{r['ratio_vs_cached']:.2f}x"
        lines.append(
            f"{r['variant']:<32} {size:>8} {r['total_s']:>16.2f} {r['data_s']:>7.2f} "
            f"{r['model_s']:>8.2f} {r['fisher_s']:>9.2f} {ratio:>10}"
        )
    return "\n".join(lines)
