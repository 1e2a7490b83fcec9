"""The database's schema version and its migrations (Alembic, storage/migrations/).

At start-up `migrate` brings a database to the newest revision this code knows:
- a new database: every revision, from the first;
- a home from release 0.1.0 (tables, no version): stamped as revision 0001 (the schema
  that release wrote), then upgraded;
- a database at a revision this code does not know (written by a newer release):
  refused with `SchemaRefused`, nothing changed. Downgrades are refused too: an older
  release cannot open a newer database; restore a backup made for it instead.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import NoReturn

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, inspect

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
RELEASE_0_1_0 = "0001"  # the schema of homes written before the database had a version


class SchemaRefused(Exception):
    """The database's schema cannot be used by this code (newer, or a downgrade)."""


def refuse_downgrade(revision: str) -> NoReturn:
    raise SchemaRefused(
        f"schema revision {revision} cannot be downgraded: an older UnlearnScope cannot "
        "open a database a newer one upgraded; restore a backup made before the upgrade "
        "(unlearnscope backup) instead"
    )


def _alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", MIGRATIONS.as_posix())
    return config


@functools.lru_cache(maxsize=1)
def _script() -> ScriptDirectory:
    return ScriptDirectory.from_config(_alembic_config())


def head() -> str:
    """The newest revision this code knows."""
    found = _script().get_current_head()
    assert found is not None
    return found


def known_revisions() -> set[str]:
    return {r.revision for r in _script().walk_revisions()}


def current_revision(conn: Connection) -> str | None:
    """The database's revision; None when it has none (new, or from release 0.1.0)."""
    heads = MigrationContext.configure(conn).get_current_heads()
    return heads[0] if heads else None


def check(conn: Connection, where: str) -> str | None:
    """The database's revision, after refusing (SchemaRefused) one this code does not
    know; None for a database without a version."""
    found = current_revision(conn)
    if found is not None and found not in known_revisions():
        raise SchemaRefused(
            f"the database {where} has schema revision {found!r}, which this UnlearnScope "
            f"does not know (its newest is {head()!r}): a newer release wrote it. Run that "
            "release; downgrading a database is not supported (restore a backup made for "
            "this release instead)"
        )
    return found


def migrate(engine: Engine, where: str) -> tuple[str | None, str]:
    """Bring the database to `head()`: (revision before, revision now). SchemaRefused
    for a database this code may not open; errors of the database itself pass through."""
    config = _alembic_config()
    with engine.begin() as conn:
        before = check(conn, where)
        config.attributes["connection"] = conn
        if before is None and inspect(conn).has_table("runs"):
            command.stamp(config, RELEASE_0_1_0)
        if (before or "") != head():
            command.upgrade(config, "head")
    return before, head()
