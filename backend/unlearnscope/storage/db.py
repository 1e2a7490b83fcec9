"""The database connection: SQLite (the default) or PostgreSQL (`postgresql://...`, through
psycopg 3; tested against a real server), and any other SQLAlchemy URL at your own risk.
SQLite files get WAL and a busy timeout; the schema comes from the migrations
(storage/schema.py).

SQLite is written by one background thread per active run and read by request threads,
so it runs in WAL mode (readers never wait for the writer) with a generous busy timeout.

Read-only (a home on a read-only mount, or a full disk): what a server that stopped
left in the write-ahead log is read, never ignored silently (`open_read_only`).
"""

from __future__ import annotations

import errno
import shutil
import sqlite3
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from .schema import migrate

SQLITE_BUSY_TIMEOUT_MS = 30_000
PG_POOL_SIZE = 10  # connections kept open to a PostgreSQL server
PG_MAX_OVERFLOW = 30  # more while many runs write at once


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.close()


def _sqlite_read_only(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA query_only=ON")
    cur.close()


def is_disk_full(err: BaseException) -> bool:
    """Did `err` (SQLAlchemy, sqlite3 or OS) come from a full disk?"""
    seen: BaseException | None = err
    while seen is not None:
        if isinstance(seen, OSError) and seen.errno in (errno.ENOSPC, errno.EDQUOT):
            return True
        if isinstance(seen, sqlite3.Error):
            if getattr(seen, "sqlite_errorcode", None) == sqlite3.SQLITE_FULL:
                return True
            if "disk is full" in str(seen) or "disk I/O error" in str(seen):
                return True
        seen = getattr(seen, "orig", None) or seen.__cause__
    return False


def driver_url(url: str) -> str:
    """`url` with its driver made explicit where SQLAlchemy's default is not installed:
    `postgresql://` means psycopg 3 (the `postgres` extra), not psycopg2."""
    parsed = make_url(url)
    if parsed.drivername == "postgresql":
        return parsed.set(drivername="postgresql+psycopg").render_as_string(hide_password=False)
    return url


@dataclass(frozen=True)
class ReadOnlyFile:
    """How a SQLite file is opened read-only: the URL, what it shows of the write-ahead
    log (`note`, one clause, '' when there is no log) and the private copy to remove."""

    url: str
    note: str
    copy: Path | None = None


def _readable(uri: str) -> str | None:
    """None when the database at `uri` reads (its table list and its runs), else why not."""
    try:
        con = sqlite3.connect(uri, uri=True)
        try:
            names = {r[0] for r in con.execute("SELECT name FROM sqlite_master")}
            if "runs" in names:
                con.execute("SELECT count(*) FROM runs").fetchone()
        finally:
            con.close()
    except sqlite3.Error as err:
        return str(err)
    return None


def open_read_only(path: Path) -> ReadOnlyFile:
    """A SQLite file in a folder the server cannot write (or on a full disk), with what
    a stopped server left in its write-ahead log (-wal) seen where possible:

    - no log: opened immutable (no lock or index files are made);
    - a log and its index (-shm, which a killed server leaves): read in place (`mode=ro`);
    - a log without its index (SQLite cannot read that read-only): the file and its log
      copied to a private temporary folder, where SQLite replays the log;
    - no room for that copy: immutable, and the note says that runs recorded since the
      last checkpoint are not shown until the server starts once on a writable mount.
    """
    path = path.resolve()
    wal = path.with_name(path.name + "-wal")
    immutable = f"file:{quote(path.as_posix())}?mode=ro&immutable=1"
    if not wal.is_file() or wal.stat().st_size == 0:
        return ReadOnlyFile(immutable, "")
    in_place = f"file:{quote(path.as_posix())}?mode=ro"
    why = _readable(in_place)
    if why is None:
        return ReadOnlyFile(in_place, "its write-ahead log is read in place")
    copy: Path | None = None
    try:
        copy = Path(tempfile.mkdtemp(prefix="unlearnscope-readonly-"))
        shutil.copyfile(path, copy / path.name)
        shutil.copyfile(wal, copy / wal.name)
        copied = f"file:{quote((copy / path.name).as_posix())}"
        why_copy = _readable(copied)
        if why_copy is None:
            return ReadOnlyFile(
                copied,
                f"its write-ahead log, unreadable in place ({why}), is replayed in a "
                f"private copy in {copy}",
                copy,
            )
        why = f"{why}; its copy: {why_copy}"
    except OSError as err:
        why = f"{why}; no room for a copy: {err.strerror or err}"
    if copy is not None:
        shutil.rmtree(copy, ignore_errors=True)
    return ReadOnlyFile(
        immutable,
        f"its write-ahead log cannot be read here ({why}): runs recorded since its last "
        "checkpoint are not shown; start the server once on a writable mount to replay it",
    )


def make_engine(url: str, read_only: bool = False) -> Engine:
    """An engine for `url`, creating the folder of a SQLite file when needed.

    `read_only`: a SQLite file opened as `open_read_only` says, queries only.
    """
    return _engine(url, read_only)[0]


def _engine(url: str, read_only: bool) -> tuple[Engine, ReadOnlyFile | None]:
    parsed = make_url(url)
    kwargs: dict[str, Any] = {}
    database = parsed.database or ""
    sqlite_file = parsed.get_backend_name() == "sqlite" and database not in ("", ":memory:")
    opened: ReadOnlyFile | None = None
    if parsed.get_backend_name() == "sqlite":
        kwargs["connect_args"] = {"check_same_thread": False, "timeout": 30}
        if sqlite_file and not read_only:
            Path(database).parent.mkdir(parents=True, exist_ok=True)
    if read_only and sqlite_file:
        opened = open_read_only(Path(database))
        url = f"sqlite:///{opened.url}{'&' if '?' in opened.url else '?'}uri=true"
    if parsed.get_backend_name() == "postgresql":
        # psycopg 3 (`driver_url`); one connection per writing run and request thread
        # at most (the pool grows to PG_POOL_SIZE + PG_MAX_OVERFLOW), checked before use.
        url = driver_url(url)
        kwargs.update(pool_size=PG_POOL_SIZE, max_overflow=PG_MAX_OVERFLOW, pool_pre_ping=True)
    engine = create_engine(url, **kwargs)
    if parsed.get_backend_name() == "sqlite":
        event.listen(engine, "connect", _sqlite_read_only if read_only else _sqlite_pragmas)
    return engine, opened


class Database:
    """Engine + session factory; `migrate` brings the schema to this code's revision.

    Read-only: `note` says what the opening shows of a write-ahead log ('' if nothing
    to say); a private copy made for it is removed by `dispose`.
    """

    def __init__(self, url: str, read_only: bool = False) -> None:
        self.url = url
        self.read_only = read_only
        self.engine, self._opened = _engine(url, read_only)
        self.note = self._opened.note if self._opened else ""
        self.session = sessionmaker(self.engine, expire_on_commit=False)

    def where(self) -> str:
        """The database, for messages (a URL without its password)."""
        return make_url(self.url).render_as_string(hide_password=True)

    def migrate(self) -> tuple[str | None, str]:
        """The schema at this code's revision: (revision before, now). SchemaRefused for
        a database written by a newer release."""
        return migrate(self.engine, self.where())

    def create_all(self) -> None:
        """The tables, made or upgraded by the migrations (one way to make a schema)."""
        self.migrate()

    def new_session(self) -> Session:
        return self.session()

    def sqlite_file(self) -> Path | None:
        """The SQLite file behind the database, or None (PostgreSQL, in memory)."""
        parsed = make_url(self.url)
        database = parsed.database or ""
        if parsed.get_backend_name() != "sqlite" or database in ("", ":memory:"):
            return None
        return Path(database.removeprefix("file:").split("?", 1)[0])

    def dispose(self) -> None:
        self.engine.dispose()
        if self._opened is not None and self._opened.copy is not None:
            shutil.rmtree(self._opened.copy, ignore_errors=True)
