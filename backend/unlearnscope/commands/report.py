"""`unlearnscope report RUN_ID --out FILE [--clip FILE]`: a stored run, taken away.

Reads the server's database (the same `--home` / `--db` as `serve`, or UNLEARNSCOPE_*);
the server need not be running.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy.engine import make_url

from ..settings import Settings

if TYPE_CHECKING:
    from ..storage.runs import RunStore
from ..report.clip import FORMATS, ClipError, ClipOptions, write_clip
from ..report.data import facts_from_store
from ..report.html import write_report


class ReportInputError(ValueError):
    """Bad command-line input for `report`; the message says what to change."""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("run_id", help="the run's id (as in the dashboard's URL, #/run/ID)")
    parser.add_argument("--out", help="write the HTML report here (default: ./report-RUN_ID.html)")
    parser.add_argument("--clip", help="also write an animated clip here: .gif or .webp")
    parser.add_argument(
        "--probes", help="clip: probe numbers, comma-separated, 0-based (default all)"
    )
    parser.add_argument(
        "--fps", type=float, default=6.0, help="clip: frames per second (default 6)"
    )
    parser.add_argument("--size", default="1280x720", help="clip: WIDTHxHEIGHT (default 1280x720)")
    parser.add_argument(
        "--max-frames", type=int, default=150, help="clip: at most this many frames"
    )
    parser.add_argument("--home", help="the server's folder (database, artifacts), as for `serve`")
    parser.add_argument("--db", help="SQLAlchemy URL of the server's database, as for `serve`")


def clip_options(probes: str | None, fps: float, size: str, max_frames: int) -> ClipOptions:
    try:
        width, height = (int(x) for x in size.lower().split("x"))
    except ValueError:
        raise ReportInputError(f"--size {size!r}: write WIDTHxHEIGHT, e.g. 1280x720") from None
    try:
        chosen = [int(p) for p in probes.split(",") if p.strip()] if probes else None
    except ValueError:
        raise ReportInputError(f"--probes {probes!r}: write numbers like 0,2,5") from None
    return ClipOptions(probes=chosen, fps=fps, width=width, height=height, max_frames=max_frames)


def open_store(home: str | None, db: str | None) -> RunStore:
    from ..storage.db import Database
    from ..storage.runs import RunStore

    overrides = {k: v for k, v in (("home", home), ("db", db)) if v is not None}
    settings = Settings.model_validate(overrides)
    url = make_url(settings.db_url)
    if url.get_backend_name() == "sqlite" and url.database and not Path(url.database).exists():
        raise ReportInputError(
            f"no database at {url.database}: pass the --home or --db the server uses"
        )
    return RunStore(Database(settings.db_url))


def run(args: argparse.Namespace) -> int:
    try:
        options = (
            clip_options(args.probes, args.fps, args.size, args.max_frames) if args.clip else None
        )
        if args.clip and Path(args.clip).suffix.lower().lstrip(".") not in FORMATS:
            raise ReportInputError(f"--clip {args.clip}: the name must end in .gif or .webp")
        store = open_store(args.home, args.db)
        try:
            facts = facts_from_store(store, args.run_id)
        except KeyError:
            raise ReportInputError(f"no run {args.run_id!r} in {store.db.url}") from None
        out = Path(args.out) if args.out else Path(f"report-{args.run_id}.html")
        if args.out or not args.clip:
            write_report(facts, out)
            print(f"report: {out} ({out.stat().st_size / 1e6:.2f} MB)")
        if args.clip:
            clip = write_clip(facts, Path(args.clip), options)
            print(f"clip: {clip} ({clip.stat().st_size / 1e6:.2f} MB)")
    except (ReportInputError, ClipError) as err:
        print(f"unlearnscope report: error: {err}", file=sys.stderr)
        return 2
    return 0
