"""The table: per-seed rows, mean ± std, the paper's column, Markdown and JSON."""

from __future__ import annotations

import os
import platform
import statistics
from dataclasses import asdict
from pathlib import Path
from typing import Any

from ..config import RunConfig
from ..ml.datasets import CIFAR10_CLASSES
from .seed import SeedResult
from .source import DataSource

# The published result (DESIGN.md 1); backdoored CA derived as 82.06 / 0.9948.
PAPER = {
    "backdoor_ca": 82.49,
    "backdoor_asr": 96.51,
    "after_ca": 82.06,
    "after_asr": 5.52,
    "ca_retention": 99.48,
    "asr_reduction": 90.99,
}
GOAL = {"after_asr_max": 2.0, "ca_retention_min": 99.5}

# (key, label, decimals): the table's rows, in order.
ROWS: list[tuple[str, str, int]] = [
    ("clean_ca", "clean model CA %", 2),
    ("clean_asr", "clean model ASR % (trigger on a clean model: the floor)", 2),
    ("backdoor_ca", "backdoored CA %", 2),
    ("backdoor_asr", "backdoored ASR %", 2),
    ("after_ca", "after unlearning CA %", 2),
    ("after_asr", "after unlearning ASR %", 2),
    ("ca_retention", "CA retention % (after / backdoored)", 2),
    ("asr_reduction", "ASR reduction (points)", 2),
    ("tar_before", "TAR median, backdoored", 2),
    ("tar_after", "TAR median, after unlearning", 2),
    ("unlearning_steps", "unlearning steps taken", 0),
    ("time_data", "wall time: data s", 1),
    ("time_clean_training", "wall time: clean model training s", 1),
    ("time_backdoor_training", "wall time: backdoored model training s", 1),
    ("time_fisher_unlearning", "wall time: Fisher + unlearning s", 1),
    ("time_evaluation", "wall time: evaluation s", 1),
    ("time_total", "wall time: total s", 1),
]
TIME_KEYS = [k for k, _, _ in ROWS if k.startswith("time_")]


def summarise(results: list[SeedResult]) -> dict[str, dict[str, float | None]]:
    """Per row: mean and sample standard deviation over seeds (std 0 for one seed)."""
    out: dict[str, dict[str, float | None]] = {}
    for key, _, _ in ROWS:
        values = [v for r in results if (v := r.metrics.get(key)) is not None]
        if not values:
            out[key] = {"mean": None, "std": None}
            continue
        std = statistics.stdev(values) if len(values) > 1 else 0.0
        out[key] = {"mean": statistics.fmean(values), "std": std}
    return out


def goal_check(results: list[SeedResult]) -> dict[str, Any]:
    def met(r: SeedResult) -> bool:
        asr, ret = r.metrics["after_asr"], r.metrics["ca_retention"]
        assert asr is not None and ret is not None
        return asr <= GOAL["after_asr_max"] and ret >= GOAL["ca_retention_min"]

    per_seed = {r.seed: met(r) for r in results}
    return {**GOAL, "met_per_seed": per_seed, "met_all": all(per_seed.values())}


def _cell(value: float | None, decimals: int) -> str:
    return "n/a" if value is None else f"{value:.{decimals}f}"


def render_markdown(report: dict[str, Any]) -> str:
    results = report["seeds"]
    lines = [
        f"### BadNets on {report['dataset']}: {report['model']} ({report['preset']} preset)",
        "",
        f"- data: {report['data_source']} ({report['n_train']} train / {report['n_test']} test "
        "images; CA and ASR on the full test set)",
        f"- model: {report['model']} ({report['n_params']:,} parameters); attack training "
        f"{report['training']}",
        f"- unlearning schedule: {report['schedule']}",
        f"- defender: {report['defense']}",
        f"- machine: {report['machine']}",
        "",
    ]
    header = ["metric", *[f"seed {r['seed']}" for r in results]]
    if len(results) > 1:
        header.append("mean ± std")
    header.append("paper")
    lines.append("| " + " | ".join(header) + " |")
    lines.append("|---|" + "---:|" * (len(header) - 1))
    for key, label, dec in ROWS:
        cells = [label]
        for r in results:
            text = _cell(r["metrics"].get(key), dec)
            cached_key = {
                "time_clean_training": "clean_model",
                "time_backdoor_training": "backdoored_model",
            }.get(key)
            if cached_key and r["cached"][cached_key]:
                text += " (cached)"
            cells.append(text)
        if len(results) > 1:
            s = report["summary"][key]
            cells.append(
                "n/a" if s["mean"] is None else f"{s['mean']:.{dec}f} ± {s['std']:.{dec}f}"
            )
        cells.append(_cell(PAPER.get(key), 2) if key in PAPER else "")
        lines.append("| " + " | ".join(cells) + " |")
    goal = report["goal"]
    met = sum(goal["met_per_seed"].values())
    lines += [
        "",
        f"Goal (ASR after <= {goal['after_asr_max']:.1f}% and CA retention >= "
        f"{goal['ca_retention_min']:.1f}%): met on {met} of {len(results)} seed(s). "
        "Paper: backdoored CA derived as 82.06 / 0.9948.",
    ]
    if any(any(r["cached"].values()) for r in results):
        lines.append(
            "(cached): the model was loaded from the cache, so that time is a load, not a training."
        )
    return "\n".join(lines) + "\n"


def _schedule_text(cfg: RunConfig) -> str:
    parts = []
    for ph in cfg.schedule:
        opts = [f"{ph.steps} steps", f"lr {ph.lr:g}", f"batch {ph.batch_size}"]
        if ph.ewc_lambda:
            opts.append(f"EWC {ph.ewc_lambda:g}")
        if ph.forget_weight:
            opts.append(f"forget weight {ph.forget_weight:g}")
        if ph.distill_weight:
            opts.append(f"distill weight {ph.distill_weight:g}")
        if ph.loss_clamp is not None and ph.kind == "ascent":
            opts.append(f"clamp {ph.loss_clamp:g}")
        if ph.stop_asr_below is not None:
            opts.append(f"stop at ASR < {ph.stop_asr_below:g}%")
        parts.append(f"{ph.kind} ({', '.join(opts)})")
    return " -> ".join(parts)


def _cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _machine(device: str) -> str:
    import torch

    where = f"device {device}"
    if device.startswith("cuda"):
        where += f" ({torch.cuda.get_device_name(torch.device(device))})"
    return (
        f"{os.cpu_count()} CPU cores ({_cpu_name()}), torch {torch.__version__} with "
        f"{torch.get_num_threads()} CPU thread(s), {where}"
    )


def build_report(
    cfg: RunConfig, source: DataSource, device: str, results: list[SeedResult]
) -> dict[str, Any]:
    import torch

    from ..ml.training import resolve_precision

    t = cfg.training
    d = cfg.defense
    data = results[0].data
    precision = resolve_precision(t.precision, torch.device(device))
    cifar = source.kind == "cifar10" or data["classes"] == list(CIFAR10_CLASSES)
    return {
        "dataset": "CIFAR-10" if cifar else "an ImageFolder data set",
        "data_source": source.describe(),
        "data_kind": source.kind,
        "n_train": data["n_train"],
        "n_test": data["n_test"],
        "model": cfg.model.name,
        "n_params": data["n_params"],
        "preset": cfg.name,
        "training": (
            f"{t.epochs} epochs, batch {t.batch_size}, one-cycle lr {t.lr:g}, "
            f"SGD Nesterov, weight decay {t.weight_decay:g}, {precision} ({t.precision}), "
            f"{cfg.data.augment}; {cfg.attack.describe()}, target class {cfg.attack.target_class}"
        ),
        "schedule": _schedule_text(cfg),
        "defense": (
            f"{d.forget_size} identified poisoned samples, {100 * d.clean_fraction:g}% of the "
            f"training set as clean data, Fisher on {d.fisher_samples} clean images"
        ),
        "machine": _machine(device),
        "config": cfg.model_dump(mode="json"),
        "seeds": [asdict(r) for r in results],
        "summary": summarise(results),
        "goal": goal_check(results),
        "paper": PAPER,
    }
