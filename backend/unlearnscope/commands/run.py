"""`unlearnscope run`: attack, then unlearn, headless, with progress bars and a final table.

With `--out DIR` it writes the run folder (config, metrics, frames, the unlearned model)
and its report. Ctrl-C stops the run between two steps and still writes `--out`.
"""

from __future__ import annotations

import argparse
import signal
import sys
import time
from pathlib import Path
from typing import Any

from ..config import RunConfig
from ..control import Control, Stop
from ..events import EventBase
from ..presets import PRESETS
from ..scores import headline
from ..settings import Settings
from .inputs import BadInput, config_from, load_config_file


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--preset",
        choices=None,
        default=None,
        help=f"start from a preset: {', '.join(PRESETS)} (default demo)",
    )
    parser.add_argument("--config", help="RunConfig as YAML or JSON; overrides the preset")
    parser.add_argument("--data-dir", help="data root (imagefolder train/ test/, or cifar10)")
    parser.add_argument("--device", help="auto | cpu | cuda | cuda:N (default auto)")
    parser.add_argument("--seed", type=int, help="overrides the config's seed")
    parser.add_argument("--out", help="write metrics CSV/JSON, frames PNG and the model here")
    parser.add_argument(
        "--cache-dir", help="backdoored-model and data cache (default ~/.unlearnscope/cache)"
    )


def run_config(args: argparse.Namespace) -> RunConfig:
    """The preset (default demo) with --config and --seed over it."""
    overrides: list[dict[str, Any]] = []
    if args.config:
        overrides.append(load_config_file(Path(args.config)))
    if args.seed is not None:
        overrides.append({"seed": args.seed})
    return config_from(args.preset, *overrides)


def run(args: argparse.Namespace) -> int:
    config = run_config(args)  # validate everything before any work, file or torch import
    settings = Settings()
    out = Path(args.out) if args.out else None
    if out is not None and out.exists() and any(out.iterdir()):
        raise BadInput(f"--out {out}: the folder exists and is not empty; choose a new one")

    from ..ml.checkpoints import FileModelStore, save_model
    from ..ml.engine import Engine
    from ..states import RunStatus
    from ..storage.exports import write_run_folder
    from .console import ConsoleReporter

    cache = Path(args.cache_dir) if args.cache_dir else settings.cache_dir
    reporter = ConsoleReporter()
    events: list[EventBase] = []

    judged: list[dict[str, Any]] = []  # what the verdict reads (scores.headline)

    def emit(event: Any) -> None:
        if out is not None:
            events.append(event)
        if event.type in ("run_started", "evaluation", "measurement", "run_finished"):
            judged.append(event.model_dump(mode="json", exclude={"maps", "images"}))
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
    verdict = headline(judged, None, config.success)["verdict"]
    print(f"verdict: {verdict['icon']} {verdict['sentence']}", file=sys.stdout)
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
        from ..report.data import gather
        from ..report.html import write_report

        dumped = config.model_dump(mode="json")
        meta = {"name": config.name, "status": state.value, "config": dumped}
        written.append(write_report(gather(meta, events), out / "report.html"))
        print(f"wrote {len(written)} files to {out}", file=sys.stdout)
    return 0 if state in (RunStatus.COMPLETED, RunStatus.STOPPED) else 1
