"""`unlearnscope reproduce`: arguments, the config per seed, the run over seeds, the files."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

from ..config import RunConfig
from ..reproduce.compare import (
    RETUNES,
    build_comparison,
    compare_seed,
    defence_config,
    parse_schedules,
    render_comparison,
)
from ..reproduce.seed import MONITOR_OVERRIDES, ReproduceFailed, run_seed
from ..reproduce.source import CIFAR_BATCHES, DataSource, resolve_data_dir
from ..reproduce.table import build_report, render_markdown
from ..settings import Settings
from .inputs import EXIT_BAD_INPUT, BadInput, config_from, load_config_file

MODEL_PRESETS = {"small_cnn": "paper", "resnet18": "paper-resnet18"}
MODEL_ALIASES = {"small_cnn": "small_cnn", "small-cnn": "small_cnn", "resnet18": "resnet18"}


def reproduce_config(args: argparse.Namespace, source: DataSource) -> RunConfig:
    model = MODEL_ALIASES[args.model] if args.model else None
    preset = args.preset or MODEL_PRESETS[model or "small_cnn"]
    overrides: list[dict[str, Any]] = []
    if model is not None and args.preset:
        overrides.append({"model": {"name": model}})
    if args.config:
        overrides.append(load_config_file(Path(args.config)))
    overrides.append(
        {"data": {"name": source.kind, "root": str(source.root)}, "monitor": MONITOR_OVERRIDES}
    )
    return config_from(preset, *overrides)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--data-dir",
        required=True,
        help=f"cifar10-jpg.tar.gz, an unpacked ImageFolder root, or a folder with {CIFAR_BATCHES}",
    )
    parser.add_argument(
        "--model",
        choices=sorted(MODEL_ALIASES),
        help="small_cnn (preset paper, the default) or resnet18 (preset paper-resnet18)",
    )
    parser.add_argument("--seeds", type=int, default=1, help="number of seeds (default 1)")
    parser.add_argument("--first-seed", type=int, default=0, help="seeds start here (default 0)")
    parser.add_argument("--device", help="auto | cpu | cuda | cuda:N (default auto)")
    parser.add_argument("--threads", type=int, help="torch CPU threads (default: torch's)")
    parser.add_argument("--out", help="write results.md and results.json here")
    parser.add_argument("--preset", help="start from this preset instead of the model's")
    parser.add_argument("--config", help="RunConfig overrides as YAML or JSON")
    parser.add_argument(
        "--schedules",
        help="compare defences on the same backdoored model, each followed by the "
        "reactivation (qra) and retuning (relearn) attacks: a comma-separated list of names "
        "of presets.DEFENCE_SCHEDULES (e.g. ascent-ewc,paper,nad,ibau,anp,fineprune,sam,nc,"
        "fst,pam,ep)",
    )
    parser.add_argument(
        "--retune",
        choices=RETUNES,
        default="paper",
        help="with --schedules: the retuning attack in the paper's setting (5 poisoned "
        "images in the clean split, 5 epochs; default) or our stronger one (500 images, "
        "10%% poisoned, 20 steps)",
    )
    parser.add_argument(
        "--cache-dir",
        help="models, decoded data, unpacked archives (default ~/.unlearnscope/cache)",
    )


def run(args: argparse.Namespace) -> int:
    """Exit code 0 done, 1 a run failed, 2 bad input (said on stderr, nothing written)."""
    # Bad input is answered here as well as in cli.main, so the command also works when
    # called on its own.
    try:
        return _reproduce(args)
    except BadInput as err:
        print(f"unlearnscope: error: {err}", file=sys.stderr)
        return EXIT_BAD_INPUT


def _reproduce(args: argparse.Namespace) -> int:
    if args.seeds < 1:
        raise BadInput(f"--seeds {args.seeds}: give at least 1")
    if args.threads is not None and args.threads < 1:
        raise BadInput(f"--threads {args.threads}: give at least 1")
    settings = Settings()
    cache_dir = Path(args.cache_dir) if args.cache_dir else settings.cache_dir
    out = Path(args.out) if args.out else None
    if out is not None and out.exists() and not out.is_dir():
        raise BadInput(f"--out {out}: exists and is not a folder")
    names = parse_schedules(args.schedules) if args.schedules is not None else None
    source = resolve_data_dir(args.data_dir, cache_dir)
    base = reproduce_config(args, source)  # every check before any long work
    if names is not None:
        for name in names:
            defence_config(base, name, args.retune)  # each schedule valid for this config

    import torch

    from ..ml.preparation import resolve_device

    try:
        device = str(resolve_device(args.device or settings.device))
    except ValueError as err:
        raise BadInput(f"--device {args.device}: {err}") from err
    if args.threads is not None:
        torch.set_num_threads(args.threads)
    print(f"data: {source.describe()} -> {source.kind} at {source.root}", file=sys.stderr)
    if names is not None:
        return _compare(args, base, names, source, device, cache_dir, out)

    results = []
    for seed in range(args.first_seed, args.first_seed + args.seeds):
        print(f"== seed {seed} ==", file=sys.stderr)
        cfg = base.model_copy(update={"seed": seed})
        try:
            results.append(run_seed(cfg, source, device, cache_dir))
        except ReproduceFailed as err:
            print(f"unlearnscope: reproduce failed: {err}", file=sys.stderr)
            return 1
        m = results[-1].metrics
        print(
            f"seed {seed}: backdoored CA {m['backdoor_ca']:.2f}% ASR {m['backdoor_asr']:.2f}% -> "
            f"after CA {m['after_ca']:.2f}% ASR {m['after_asr']:.2f}% "
            f"(retention {m['ca_retention']:.2f}%) in {m['time_total']:.0f} s",
            file=sys.stderr,
        )
    report = build_report(base, source, device, results)
    markdown = render_markdown(report)
    print(markdown)
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
        _write(out / "results.md", markdown)
        _write(out / "results.json", json.dumps(report, indent=2, default=str) + "\n")
        print(f"wrote {out / 'results.md'} and {out / 'results.json'}", file=sys.stderr)
    return 0


def _compare(
    args: argparse.Namespace,
    base: RunConfig,
    names: list[str],
    source: DataSource,
    device: str,
    cache_dir: Path,
    out: Path | None,
) -> int:
    """The defences' comparison (--schedules): one table, per seed."""
    seeds: list[dict[str, Any]] = []

    def write(done: list[dict[str, Any]]) -> str:
        report = build_comparison(base, names, source, device, done, args.retune)
        markdown = render_comparison(report)
        if out is not None:
            out.mkdir(parents=True, exist_ok=True)
            _write(out / "comparison.md", markdown)
            _write(out / "comparison.json", json.dumps(report, indent=2, default=str) + "\n")
        return markdown

    for seed in range(args.first_seed, args.first_seed + args.seeds):
        cfg = base.model_copy(update={"seed": seed})
        try:
            seeds.append(
                compare_seed(
                    cfg,
                    names,
                    source,
                    device,
                    cache_dir,
                    on_row=lambda s: write([*seeds, s]),
                    retune=args.retune,
                )
            )
        except ReproduceFailed as err:
            print(f"unlearnscope: reproduce failed: {err}", file=sys.stderr)
            return 1
    print(write(seeds))
    if out is not None:
        print(f"wrote {out / 'comparison.md'} and {out / 'comparison.json'}", file=sys.stderr)
    return 0


def _write(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    tmp.write_text(text)
    os.replace(tmp, path)
