"""`unlearnscope sweep --config sweep.yaml`: every cell of a sweep, one after another, in
this process, with a progress line per run and a final table.

The simpler honest choice of the two the issue allows: the runs go through the same
engine as `unlearnscope run` (sequentially, the backdoored model trained once and then
taken from the cache), not through a server, so nothing is stored in a server's database
and no sweep page exists for them; `POST /api/sweeps` (or the form) is the way to a sweep
the dashboard shows. The file is a SweepSpec (see unlearnscope/sweeps.py):

    name: schedules x seeds
    preset: tiny
    base: {monitor: {eval_every: 2}}
    grid: {schedule: [tiny, demo], seed: [0, 1, 2]}

Every cell is validated before the first run starts (a bad one: exit code 2, naming the
cell and field). Exit code 0 when every run completed, 1 when one failed, was stopped
(Ctrl-C stops the current run and starts no more) or did not run.
"""

from __future__ import annotations

import argparse
import signal
import time
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from ..control import Control, Stop
from ..scores import headline
from ..settings import Settings
from ..sweeps import SweepCell, SweepError, SweepSpec, expand
from .inputs import BadInput, load_config_file

MAX_CLI_CELLS = 1000
PROGRESS_EVERY = 0.1  # of a run's steps between two progress lines


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", required=True, help="the sweep as YAML or JSON (a SweepSpec)")
    parser.add_argument("--data-dir", help="data root (imagefolder train/ test/, or cifar10)")
    parser.add_argument("--device", help="auto | cpu | cuda | cuda:N (default auto)")
    parser.add_argument(
        "--cache-dir", help="backdoored-model and data cache (default ~/.unlearnscope/cache)"
    )


def load_spec(path: Path) -> list[SweepCell]:
    raw = load_config_file(path)
    try:
        spec = SweepSpec.model_validate(raw)
    except ValidationError as err:
        lines = [
            f"{'.'.join(str(p) for p in e['loc']) or 'sweep'}: {e['msg']}" for e in err.errors()
        ]
        raise BadInput(f"--config {path}: " + "; ".join(lines)) from None
    try:
        return expand(spec, max_cells=MAX_CLI_CELLS)
    except SweepError as err:
        raise BadInput(f"--config {path}: invalid sweep: " + "; ".join(err.lines)) from None


class Progress:
    """The events of one run: a line now and then, and what the final table needs."""

    def __init__(self, prefix: str, total: int) -> None:
        self.prefix = prefix
        self.total = max(1, total)
        self.next_at = 0.0
        self.kept: list[dict[str, Any]] = []
        self.asr: float | None = None

    def __call__(self, event: Any) -> None:
        kind = getattr(event, "type", "")
        if kind in ("run_started", "evaluation", "measurement", "run_finished"):
            self.kept.append(event.model_dump(exclude={"maps", "images"}))
            if getattr(event, "asr", None) is not None:
                self.asr = float(event.asr)
        if kind == "status":
            print(f"{self.prefix}: {event.status}{f' ({event.message})' if event.message else ''}")
        elif kind == "step" and event.step / self.total >= self.next_at:
            self.next_at = event.step / self.total + PROGRESS_EVERY
            asr = f", ASR {self.asr:.1f}%" if self.asr is not None else ""
            print(f"{self.prefix}: step {event.step}/{self.total}{asr}", flush=True)


def _pct(v: Any) -> str:
    return "-" if v is None else f"{v:.1f}%"


def format_table(rows: list[dict[str, Any]]) -> str:
    head = "| # | cell | status | verdict | ASR before -> after | CA before -> after | DER | "
    head += "steps | steps to ASR<10% | wall s |"
    lines = [head, "|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        h = r["headline"]
        der = "-" if h.get("der") is None else f"{h['der']:.3f}"
        gone = "never" if h.get("steps_to_asr10") is None else str(h["steps_to_asr10"])
        wall = "-" if h.get("wall_time") is None else f"{h['wall_time']:.1f}"
        verdict = h.get("verdict")
        said = "-" if verdict is None else f"{verdict['icon']} {verdict['label']}"
        lines.append(
            f"| {r['index'] + 1} | {r['label']} | {r['status']} | {said} | "
            f"{_pct(h.get('asr_before'))} -> "
            f"{_pct(h.get('asr_after'))} | {_pct(h.get('ca_before'))} -> {_pct(h.get('ca_after'))}"
            f" | {der} | {h.get('steps', 0)} | {gone} | {wall} |"
        )
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    cells = load_spec(Path(args.config))  # every cell checked before any work
    from ..ml.checkpoints import FileModelStore
    from ..ml.engine import Engine
    from ..states import RunStatus

    settings = Settings()
    cache = Path(args.cache_dir) if args.cache_dir else settings.cache_dir
    stop_requested: list[bool] = []
    signal.signal(signal.SIGINT, lambda *_: stop_requested.append(True))

    def poll(block: bool) -> list[Control | dict[str, Any]]:
        return [Stop()] if stop_requested else []

    print(f"sweep: {len(cells)} runs, one after another in this process", flush=True)
    rows: list[dict[str, Any]] = []
    t0 = time.time()
    for cell in cells:
        row: dict[str, Any] = {"index": cell.index, "label": cell.label, "headline": {}}
        rows.append(row)
        if stop_requested:
            row["status"] = "not run"
            continue
        progress = Progress(
            f"[{cell.index + 1}/{len(cells)}] {cell.label}", cell.config.total_steps()
        )
        engine = Engine(
            cell.config,
            progress,
            device=args.device or settings.device,
            data_dir=args.data_dir or settings.data_dir,
            data_cache_dir=cache / "data",
            store=FileModelStore(cache / "models"),
        )
        state = engine.run(poll)
        row["status"] = state.value
        row["headline"] = headline(progress.kept, None, cell.config.success)
        row["headline"]["steps"] = engine.step_count
    print()
    print(format_table(rows))
    print(f"wall time {time.time() - t0:.1f} s")
    ok = all(r["status"] == RunStatus.COMPLETED.value for r in rows)
    return 0 if ok else 1
