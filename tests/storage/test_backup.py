"""`unlearnscope backup PATH` while the server writes: a consistent copy (database by
SQLite's online backup, artifacts after it) that `serve --home PATH` replays."""

from __future__ import annotations

import threading
from pathlib import Path

from fastapi.testclient import TestClient
from test_home_failures import make_home, step

from unlearnscope.api.app import create_app
from unlearnscope.commands.main import main
from unlearnscope.presets import preset_config
from unlearnscope.settings import Settings
from unlearnscope.states import RunStatus
from unlearnscope.storage.backup import backup_home


def test_a_backup_taken_while_a_run_writes_replays_on_a_restored_home(
    tmp_path: Path, capsys
) -> None:
    home = tmp_path / "home"
    store = make_home(home)
    model = home / "artifacts" / "done" / "model.safetensors"
    model.parent.mkdir(parents=True)
    model.write_bytes(b"weights" * 100)
    store.put_artifact("done", "model", "done/model.safetensors", model.stat().st_size)
    store.create("busy", preset_config("tiny"), RunStatus.QUEUED)
    stop = threading.Event()

    def write() -> None:  # a run writing its log the whole time
        seq = 0
        while not stop.is_set() and seq < 5000:
            seq += 1
            store.append("busy", [step(seq, seq)])

    writer = threading.Thread(target=write)
    writer.start()
    try:
        assert main(["backup", str(tmp_path / "copy"), "--home", str(home)]) == 0
    finally:
        stop.set()
        writer.join()
    assert "3 runs" in capsys.readouterr().out
    settings = Settings(home=tmp_path / "copy", device="cpu", port=8774)
    with TestClient(create_app(settings), base_url="http://127.0.0.1:8774") as c:
        runs = {r["id"]: r for r in c.get("/api/runs").json()}
        assert set(runs) == {"done", "live", "busy"}
        for run_id in ("done", "live", "busy"):
            events = c.get(f"/api/runs/{run_id}/events", params={"limit": 10000}).json()
            seqs = [e["seq"] for e in events["events"]]
            assert seqs == list(range(1, len(seqs) + 1))  # no hole: one snapshot
        original = [e.seq for e in store.events_after("done")]
        assert [e["seq"] for e in c.get("/api/runs/done/events").json()["events"]] == original
        export = c.get("/api/runs/done/export")
        assert export.status_code == 200 and b"model.safetensors" in export.content
    store.db.dispose()


def test_a_backup_into_a_used_folder_is_refused(tmp_path: Path, capsys) -> None:
    make_home(tmp_path / "home").db.dispose()
    (tmp_path / "used").mkdir()
    (tmp_path / "used" / "x").write_text("mine")
    assert main(["backup", str(tmp_path / "used"), "--home", str(tmp_path / "home")]) == 2
    assert "not an empty folder" in capsys.readouterr().err


def test_postgresql_is_left_to_pg_dump(tmp_path: Path) -> None:
    (tmp_path / "artifacts" / "r1").mkdir(parents=True)
    (tmp_path / "artifacts" / "r1" / "model.safetensors").write_bytes(b"w")
    report = backup_home(
        "postgresql://u@127.0.0.1/db", tmp_path / "artifacts", tmp_path / "up", tmp_path / "c"
    )
    assert report.runs is None and "pg_dump" in report.database and report.files == 1
