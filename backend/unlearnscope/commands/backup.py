"""`unlearnscope backup PATH`: a consistent copy of a home (database, artifacts, uploads)
while its server runs; `unlearnscope serve --home PATH` opens the copy.

Reads the same `--home` / `--db` as `serve` (or UNLEARNSCOPE_*). PostgreSQL: the files
are copied; the database is dumped with `pg_dump` (docs/deployment.md).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("path", help="a new (or empty) folder for the copy")
    parser.add_argument("--home", help="the server's folder (database, artifacts), as for `serve`")
    parser.add_argument("--db", help="SQLAlchemy URL of the server's database, as for `serve`")


def run(args: argparse.Namespace) -> int:
    from ..settings import Settings
    from ..storage.backup import BackupRefused, backup_home

    overrides = {k: v for k, v in (("home", args.home), ("db", args.db)) if v is not None}
    settings = Settings.model_validate(overrides)
    dest = Path(args.path).expanduser().resolve()
    try:
        report = backup_home(settings.db_url, settings.artifacts_dir, settings.uploads_dir, dest)
    except BackupRefused as err:
        print(f"unlearnscope backup: error: {err}", file=sys.stderr)
        return 2
    except OSError as err:
        print(
            f"unlearnscope backup: error: {err.strerror or err} ({err.filename})", file=sys.stderr
        )
        return 1
    runs = f"{report.runs} runs" if report.runs is not None else "no database"
    print(f"backup: {dest} ({runs}; {report.files} files, {report.bytes / 1e6:.1f} MB)")
    print(f"  database: {report.database}")
    for problem in report.problems:
        print(f"  warning: {problem}", file=sys.stderr)
    print(f"  open it with: unlearnscope serve --home {dest}")
    return 1 if report.problems else 0
