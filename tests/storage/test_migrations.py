"""Schema versions and migrations (storage/schema.py, storage/migrations/), on SQLite and
PostgreSQL: a home release 0.1.0 wrote (tests/storage/data/, made by
make_release_home.py with that release's code) opens upgraded and replays every run as it
did then; the migrations make exactly the tables the code maps; a database from a newer
release, or a downgrade, is refused with a message that says what to do."""

from __future__ import annotations

import json
import tarfile
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from fastapi.testclient import TestClient
from sqlalchemy import MetaData, create_engine, select, text

from unlearnscope.api.app import create_app
from unlearnscope.commands.main import EXIT_SCHEMA, main
from unlearnscope.settings import Settings
from unlearnscope.storage import schema
from unlearnscope.storage.db import Database
from unlearnscope.storage.tables import Base

DATA = Path(__file__).parent / "data"
EXPECTED = json.loads((DATA / "expected_replay.json").read_text())
RUN_FIELDS = ("name", "status", "message", "error", "step", "summary")  # as stored
TABLES = ("runs", "sweeps", "events", "frames", "artifacts")  # parents first


def release_home(tmp_path: Path) -> Path:
    with tarfile.open(DATA / "release_home.tar.gz") as tar:
        tar.extractall(tmp_path, filter="data")
    return tmp_path / "home"


def to_postgres(home: Path, url: str) -> None:
    """The release home's rows in a PostgreSQL database with release 0.1.0's tables and,
    as that release left them, no schema version."""
    engine = create_engine(url)
    with engine.begin() as conn:
        config = schema._alembic_config()
        config.attributes["connection"] = conn
        command.upgrade(config, schema.RELEASE_0_1_0)
        conn.execute(text("DROP TABLE alembic_version"))
    source = create_engine(f"sqlite:///{home / 'unlearnscope.db'}")
    old, new = MetaData(), MetaData()
    old.reflect(source)
    new.reflect(engine)
    with source.connect() as src, engine.begin() as dst:
        for name in TABLES:
            rows = [dict(r) for r in src.execute(select(old.tables[name])).mappings()]
            if rows:
                dst.execute(new.tables[name].insert(), rows)
        # rows copied with their ids: the id sequence goes on after them
        dst.execute(
            text("SELECT setval(pg_get_serial_sequence('artifacts', 'id'), max(id)) FROM artifacts")
        )
    source.dispose()
    engine.dispose()
    (home / "unlearnscope.db").unlink()


def assert_replays_as_released(client: TestClient) -> None:
    runs = {r["id"]: r for r in client.get("/api/runs").json()}
    assert set(runs) == set(EXPECTED["runs"])
    for run_id, was in EXPECTED["runs"].items():
        assert {k: runs[run_id][k] for k in RUN_FIELDS} == {k: was[k] for k in RUN_FIELDS}
        r = client.get(f"/api/runs/{run_id}/events", params={"limit": 10000})
        assert r.status_code == 200, r.text
        events = r.json()["events"]
        expected: list[dict[str, Any]] = EXPECTED["events"][run_id]
        assert [e["seq"] for e in events] == [e["seq"] for e in expected]
        for now, then in zip(events, expected, strict=True):  # every field it had, unchanged
            assert {k: now.get(k) for k in then} == then, then["seq"]
        assert events[-1]["type"] == "status" and events[-1]["status"] == was["status"]
        export = client.get(f"/api/runs/{run_id}/export")  # with its saved model
        assert export.status_code == 200 and b"model.safetensors" in export.content


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_a_release_home_opens_upgraded_and_replays_every_run(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    home = release_home(tmp_path)
    db: str | None = None
    if backend == "postgresql":
        db = str(request.getfixturevalue("pg_server").database())
        to_postgres(home, db)
    settings = Settings(home=home, db=db, device="cpu", port=8774)
    with create_engine(settings.db_url).connect() as conn:
        assert schema.current_revision(conn) is None  # 0.1.0 had no version
    with TestClient(create_app(settings), base_url="http://127.0.0.1:8774") as client:
        assert client.get("/api/health").json()["read_only"] is None
        assert_replays_as_released(client)
    with create_engine(settings.db_url).connect() as conn:
        assert schema.current_revision(conn) == schema.head()
    with TestClient(create_app(settings), base_url="http://127.0.0.1:8774") as client:
        assert_replays_as_released(client)  # a second start changes nothing


def test_the_migrations_make_exactly_the_mapped_tables(db_url: str) -> None:
    db = Database(db_url)
    assert db.migrate() == (None, schema.head())
    with db.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    db.dispose()
    assert diff == [], f"storage/tables.py and the migrations differ: add a revision: {diff}"


def test_a_newer_schema_is_refused_and_nothing_changes(tmp_path: Path, capsys) -> None:
    home = release_home(tmp_path)
    settings = Settings(home=home, device="cpu", port=8774)
    Database(settings.db_url).migrate()
    engine = create_engine(settings.db_url)
    with engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = 'f00d'"))
    before = (home / "unlearnscope.db").read_bytes()
    with pytest.raises(schema.SchemaRefused, match=r"revision 'f00d'.*newer release"):
        create_app(settings)
    assert main(["serve", "--home", str(home), "--port", "8774"]) == EXIT_SCHEMA
    err = capsys.readouterr().err
    assert "unlearnscope: error: the database" in err and "downgrading" in err
    assert "Traceback" not in err
    assert (home / "unlearnscope.db").read_bytes() == before
    engine.dispose()


def test_a_downgrade_is_refused(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'x.db'}")
    schema.migrate(engine, "x.db")
    with engine.begin() as conn:
        config = schema._alembic_config()
        config.attributes["connection"] = conn
        with pytest.raises(schema.SchemaRefused, match=r"cannot be downgraded.*backup"):
            command.downgrade(config, "base")
    with engine.connect() as conn:
        assert schema.current_revision(conn) == schema.head()
    engine.dispose()


def test_the_fixture_home_is_small() -> None:
    assert (DATA / "release_home.tar.gz").stat().st_size < 1024 * 1024
