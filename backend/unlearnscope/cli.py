"""`unlearnscope run | sweep | presets | serve | reproduce | bench | report`."""

from __future__ import annotations

import argparse
import signal
import sys
import time
from pathlib import Path
from typing import Any

from .config import RunConfig
from .control import Control, Stop
from .events import EventBase
from .inputs import EXIT_BAD_INPUT, BadInput, config_from, load_config_file
from .presets import PRESETS
from .settings import Settings


def build_config(args: argparse.Namespace) -> RunConfig:
    overrides: list[dict[str, Any]] = []
    if args.config:
        overrides.append(load_config_file(Path(args.config)))
    if args.seed is not None:
        overrides.append({"seed": args.seed})
    return config_from(args.preset, *overrides)


def cmd_run(args: argparse.Namespace) -> int:
    config = build_config(args)  # validate everything before any work, file or torch import
    settings = Settings()
    out = Path(args.out) if args.out else None
    if out is not None and out.exists() and any(out.iterdir()):
        raise BadInput(f"--out {out}: the folder exists and is not empty; choose a new one")

    from .console import ConsoleReporter
    from .ml.checkpoints import FileModelStore, save_model
    from .ml.engine import Engine
    from .states import RunStatus
    from .storage.exports import write_run_folder
    cache = Path(args.cache_dir) if args.cache_dir else settings.cache_dir
    reporter = ConsoleReporter()
    events: list[EventBase] = []

    def emit(event: Any) -> None:
        if out is not None:
            events.append(event)
        reporter(event)

    stop_requested = []
    signal.signal(signal.SIGINT, lambda *_: stop_requested.append(True))

    def poll(block: bool) -> list[Control | dict[str, Any]]:
        if stop_requested:
            stop_requested.clear()
            return [Stop()]
        return []

    engine = Engine(
        config,
        emit,
        device=args.device or settings.device,
        data_dir=args.data_dir or settings.data_dir,
        data_cache_dir=cache / "data",
        store=FileModelStore(cache / "models"),
    )
    t0 = time.time()
    state = engine.run(poll)
    print(reporter.table(), file=sys.stdout)
    print(f"wall time {time.time() - t0:.1f} s", file=sys.stdout)
    if out is not None:
        model_file = None
        if engine.prepared is not None:
            model_file = out / "model.safetensors"
            save_model(
                engine.model,
                model_file,
                {
                    "config": config.model_dump(mode="json"),
                    "state": state.value,
                    "step": engine.step_count,
                },
            )
        written = write_run_folder(out, config.model_dump(mode="json"), events, model_file)
        from .report.command import report_after_run

        written.append(report_after_run(out, config, state.value, events))
        print(f"wrote {len(written)} files to {out}", file=sys.stdout)
    return 0 if state in (RunStatus.COMPLETED, RunStatus.STOPPED) else 1


def cmd_serve(args: argparse.Namespace) -> int:
    from .api.serve import serve

    return serve(args)


def cmd_reproduce(args: argparse.Namespace) -> int:
    from .reproduce import cmd_reproduce as reproduce

    return reproduce(args)


def cmd_bench(args: argparse.Namespace) -> int:
    from .bench.suite import cmd_bench as bench

    return bench(args)


def cmd_presets(args: argparse.Namespace) -> int:
    if args.show:
        if args.show not in PRESETS:
            raise BadInput(f"--show {args.show!r}: allowed values are {sorted(PRESETS)}")
        print(config_from(args.show).model_dump_json(indent=2))
    else:
        for name in PRESETS:
            cfg = config_from(name)
            kinds = " -> ".join(f"{p.kind}({p.steps})" for p in cfg.schedule)
            print(f"{name:8s} {cfg.data.name:12s} {cfg.model.name:10s} {kinds}")
    return 0


def make_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The whole parser; given `command`, the arguments of the other heavy subcommands
    (sweep, reproduce, bench, report: their modules import torch) are left out, so `run`
    refuses a bad config and `presets` answers in about a second."""
    parser = argparse.ArgumentParser(prog="unlearnscope", description=__doc__)

    def wanted(name: str) -> bool:
        return command is None or command == name

    sub = parser.add_subparsers(dest="command", required=True)

    run = sub.add_parser("run", help="attack, then unlearn, headless, with a final table")
    run.add_argument(
        "--preset",
        choices=None,
        default=None,
        help=f"start from a preset: {', '.join(PRESETS)} (default demo)",
    )
    run.add_argument("--config", help="RunConfig as YAML or JSON; overrides the preset")
    run.add_argument("--data-dir", help="data root (imagefolder train/ test/, or cifar10)")
    run.add_argument("--device", help="auto | cpu | cuda | cuda:N (default auto)")
    run.add_argument("--seed", type=int, help="overrides the config's seed")
    run.add_argument("--out", help="write metrics CSV/JSON, frames PNG and the model here")
    run.add_argument(
        "--cache-dir", help="backdoored-model and data cache (default ~/.unlearnscope/cache)"
    )
    run.set_defaults(func=cmd_run)

    sweep = sub.add_parser(
        "sweep", help="a grid of runs from one base config, one after another, with a table"
    )
    if wanted("sweep"):
        from .sweep_command import add_arguments as add_sweep_arguments
        from .sweep_command import cmd_sweep

        add_sweep_arguments(sweep)
        sweep.set_defaults(func=cmd_sweep)

    serve = sub.add_parser("serve", help="start the dashboard server (API + page)")
    serve.add_argument("--host", help="bind address (default 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port (default 8000)")
    serve.add_argument("--data-dir", help="data root for cifar10 / imagefolder runs")
    serve.add_argument(
        "--db",
        help="database file path, or SQLAlchemy URL (default sqlite file in ~/.unlearnscope)",
    )
    serve.add_argument("--home", help="folder for the database, artifacts and caches")
    serve.add_argument("--device", help="auto | cpu | cuda | cuda:N (default auto)")
    serve.add_argument("--preset", help="preset the page's form opens with (default demo)")
    serve.add_argument(
        "--executor",
        choices=("local", "ray"),
        help="where runs' engines live: local worker processes (default) or a Ray cluster "
        "(UNLEARNSCOPE_RAY_ADDRESS, default auto; README, Team deployment)",
    )
    serve.set_defaults(func=cmd_serve)

    reproduce = sub.add_parser(
        "reproduce", help="the paper's CIFAR-10 protocol per seed: clean, backdoored, unlearned"
    )
    if wanted("reproduce"):
        from .reproduce import add_arguments as add_reproduce_arguments

        add_reproduce_arguments(reproduce)
        reproduce.set_defaults(func=cmd_reproduce)

    bench = sub.add_parser(
        "bench", help="measure Grad-CAM, monitoring overhead, streaming fan-out and memory"
    )
    if wanted("bench"):
        from .bench.suite import add_arguments as add_bench_arguments

        add_bench_arguments(bench)
        bench.set_defaults(func=cmd_bench)

    report = sub.add_parser("report", help="a stored run as one HTML file, and a heatmap clip")
    if wanted("report"):
        from .report.command import add_arguments as add_report_arguments
        from .report.command import cmd_report

        add_report_arguments(report)
        report.set_defaults(func=cmd_report)

    presets = sub.add_parser("presets", help="list presets, or --show NAME as JSON")
    presets.add_argument("--show", help="print the full RunConfig of a preset")
    presets.set_defaults(func=cmd_presets)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    # The subcommand is the first word that is not an option (no top-level option takes a
    # value); with none, argparse prints the usage.
    command = next((a for a in argv if not a.startswith("-")), None)
    parser = make_parser(command)
    args = parser.parse_args(argv)
    if args.command == "run" and not args.preset and not args.config:
        args.preset = "demo"
    try:
        code: int = args.func(args)
        return code
    except BadInput as err:
        print(f"unlearnscope: error: {err}", file=sys.stderr)
        return EXIT_BAD_INPUT


if __name__ == "__main__":
    sys.exit(main())
