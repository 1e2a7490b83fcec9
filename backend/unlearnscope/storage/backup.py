"""A consistent copy of a home while its server runs: `unlearnscope backup PATH`.

- SQLite: SQLite's online backup API copies the database as one read transaction sees
  it (runs being written go on meanwhile), then the copy is checked (`quick_check`).
- Artifacts (saved models, exports) and uploads: copied after the database, so every
  file the copied database names exists in the copy (a file newer than the copy is
  extra, never missing); each recorded artifact's size is checked.
- PostgreSQL: its database is the server's to dump (`pg_dump`, docs/deployment.md); the
  files are copied all the same.

The copy is laid out as a home: `serve --home PATH` opens it (and replays every run).
"""

from __future__ import annotations

import shutil
import sqlite3
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

from sqlalchemy.engine import make_url

from .reserve import RESERVE_NAME

DB_FILE = "unlearnscope.db"  # as Settings.db_url names it in a home
SKIPPED = (".incoming-*", ".write-check-*", "*.tmp", "*.partial", RESERVE_NAME)


class BackupRefused(ValueError):
    """The backup cannot be made as asked; the message says what to change."""


@dataclass
class BackupReport:
    database: str  # what was done with the database, in words
    runs: int | None  # runs in the copied database (None: not copied)
    files: int = 0  # artifact and upload files copied
    bytes: int = 0
    problems: list[str] = field(default_factory=list)


def backup_home(db_url: str, artifacts: Path, uploads: Path, dest: Path) -> BackupReport:
    """Copy the database at `db_url` and the `artifacts` and `uploads` folders to `dest`
    (a new or empty folder), laid out as a home."""
    if dest.exists() and (not dest.is_dir() or any(dest.iterdir())):
        raise BackupRefused(f"{dest} exists and is not an empty folder: choose a new one")
    parsed = make_url(db_url)
    source = parsed.database if parsed.get_backend_name() == "sqlite" else None
    if source is not None and (source in ("", ":memory:") or not Path(source).is_file()):
        raise BackupRefused(
            f"no database file at {source!r}: pass the --home or --db of the server"
        )
    dest.mkdir(parents=True, exist_ok=True)
    if source is not None:
        runs = _copy_sqlite(Path(source), dest / DB_FILE)
        report = BackupReport(f"{source} copied with SQLite's online backup", runs)
    else:
        report = BackupReport(
            f"{parsed.render_as_string(hide_password=True)} is not a SQLite file: dump it "
            "with pg_dump (docs/deployment.md); only the files were copied",
            None,
        )
    for folder, target in ((artifacts, dest / "artifacts"), (uploads, dest / "data" / "uploads")):
        if folder.is_dir():
            shutil.copytree(folder, target, ignore=shutil.ignore_patterns(*SKIPPED))
            for f in target.rglob("*"):
                if f.is_file():
                    report.files += 1
                    report.bytes += f.stat().st_size
    if source is not None:
        report.problems += _check_artifacts(dest / DB_FILE, dest / "artifacts")
    return report


def _copy_sqlite(source: Path, target: Path) -> int:
    src = sqlite3.connect(f"file:{quote(source.resolve().as_posix())}?mode=ro", uri=True)
    dst = sqlite3.connect(target)
    try:
        src.execute("PRAGMA busy_timeout=30000")
        src.backup(dst)  # all pages in one step: one consistent snapshot
        dst.execute("PRAGMA journal_mode=DELETE")  # one self-contained file
        verdict = dst.execute("PRAGMA quick_check").fetchone()[0]
        if verdict != "ok":
            raise BackupRefused(f"the copy of {source} does not check out: {verdict}")
        tables = {r[0] for r in dst.execute("SELECT name FROM sqlite_master")}
        return (
            int(dst.execute("SELECT count(*) FROM runs").fetchone()[0]) if "runs" in tables else 0
        )
    finally:
        src.close()
        dst.close()


def _check_artifacts(database: Path, artifacts: Path) -> list[str]:
    """Each artifact the copied database records, present in the copy at its size."""
    con = sqlite3.connect(database)
    try:
        tables = {r[0] for r in con.execute("SELECT name FROM sqlite_master")}
        rows = (
            con.execute("SELECT run_id, kind, path, size FROM artifacts").fetchall()
            if "artifacts" in tables
            else []
        )
    finally:
        con.close()
    problems = []
    for run_id, kind, path, size in rows:
        copied = artifacts / path
        if not copied.is_file():
            problems.append(f"run {run_id}: its {kind} file {path} is missing")
        elif size and copied.stat().st_size != size:
            problems.append(f"run {run_id}: its {kind} file {path} changed during the copy")
    return problems
