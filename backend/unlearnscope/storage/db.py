"""The database connection: SQLite (the default) or PostgreSQL (`postgresql://...`, through
psycopg 3; tested against a real server), and any other SQLAlchemy URL at your own risk.
SQLite files get WAL and a busy timeout.

SQLite is written by one background thread per active run and read by request threads,
so it runs in WAL mode (readers never wait for the writer) with a generous busy timeout.
"""

from __future__ import annotations

import errno
import sqlite3
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from .tables import Base

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


def make_engine(url: str, read_only: bool = False) -> Engine:
    """An engine for `url`, creating the folder of a SQLite file when needed.

    `read_only`: a SQLite file opened immutable, in a folder the server cannot write
    (no WAL or lock files are made; what a crash left in the WAL is not seen).
    """
    parsed = make_url(url)
    kwargs: dict[str, Any] = {}
    database = parsed.database or ""
    sqlite_file = parsed.get_backend_name() == "sqlite" and database not in ("", ":memory:")
    if parsed.get_backend_name() == "sqlite":
        kwargs["connect_args"] = {"check_same_thread": False, "timeout": 30}
        if sqlite_file and not read_only:
            Path(database).parent.mkdir(parents=True, exist_ok=True)
    if read_only and sqlite_file:
        path = Path(database).resolve().as_posix()
        url = f"sqlite:///file:{path}?mode=ro&immutable=1&uri=true"
    if parsed.get_backend_name() == "postgresql":
        # psycopg 3 (`driver_url`); one connection per writing run and request thread
        # at most (the pool grows to PG_POOL_SIZE + PG_MAX_OVERFLOW), checked before use.
        url = driver_url(url)
        kwargs.update(pool_size=PG_POOL_SIZE, max_overflow=PG_MAX_OVERFLOW, pool_pre_ping=True)
    engine = create_engine(url, **kwargs)
    if parsed.get_backend_name() == "sqlite":
        event.listen(engine, "connect", _sqlite_read_only if read_only else _sqlite_pragmas)
    return engine


class Database:
    """Engine + session factory; `create_all` makes the tables when missing."""

    def __init__(self, url: str, read_only: bool = False) -> None:
        self.url = url
        self.read_only = read_only
        self.engine = make_engine(url, read_only)
        self.session = sessionmaker(self.engine, expire_on_commit=False)

    def create_all(self) -> None:
        Base.metadata.create_all(self.engine)

    def new_session(self) -> Session:
        return self.session()

    def dispose(self) -> None:
        self.engine.dispose()
