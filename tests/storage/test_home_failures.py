"""A home that fails under the server: a full disk at start-up, a read-only mount with a
write-ahead log a stopped server left, a disk that fills while a run writes, a server
killed with SIGKILL. Each ends with the history readable, the final statuses right and
no 500.

Real where the machine allows (root: a tmpfs of a few MB, a read-only bind mount); the
simulated variant (the same failure raised where the server meets it) always runs too.
The test id says which ran: [real] or [simulated].
"""

from __future__ import annotations

import errno
import logging
import os
import signal
import sqlite3
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.exc import OperationalError

from unlearnscope.api.app import create_app
from unlearnscope.api.service import lifecycle
from unlearnscope.events import StatusEvent, StepMetrics
from unlearnscope.presets import preset_config
from unlearnscope.settings import Settings
from unlearnscope.states import RunStatus
from unlearnscope.storage import db as dbmod
from unlearnscope.storage.db import Database
from unlearnscope.storage.runs import RunStore


def _mount(*args: str) -> bool:
    return subprocess.run(["mount", *args], capture_output=True).returncode == 0


def _can_mount() -> bool:
    if os.geteuid() != 0:
        return False
    probe = Path(f"/tmp/unlearnscope-mount-probe-{uuid.uuid4().hex[:8]}")
    probe.mkdir()
    try:
        ok = _mount("-t", "tmpfs", "-o", "size=1m", "tmpfs", str(probe))
        if ok:
            subprocess.run(["umount", str(probe)], check=True)
        return ok
    finally:
        probe.rmdir()


MODES = ["real", "simulated"] if _can_mount() else ["simulated"]


@pytest.fixture(params=MODES)
def mode(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def mounts() -> Iterator[list[Path]]:
    made: list[Path] = []
    yield made
    for point in reversed(made):
        subprocess.run(["umount", "-l", str(point)], capture_output=True)


def tmpfs(point: Path, size: str, mounts: list[Path]) -> Path:
    point.mkdir(parents=True, exist_ok=True)
    assert _mount("-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(point))
    mounts.append(point)
    return point


def fill(folder: Path) -> None:
    """Write until the file system holding `folder` has no room left."""
    with open(folder / ".filler", "wb", buffering=0) as f:
        for chunk in (65536, 4096, 512, 1):
            try:
                while True:
                    f.write(b"\0" * chunk)
            except OSError as err:
                assert err.errno == errno.ENOSPC


def step(seq: int, s: int) -> StepMetrics:
    return StepMetrics(
        seq=seq, t=float(seq), step=s, phase_index=0, phase_step=s, kind="ascent", loss=1.0,
        ce_loss=1.0, ewc_penalty=0.0, lr=0.01, grad_norm=1.0, step_time=0.01, monitor_time=0.01,
    )  # fmt: skip


def make_home(home: Path) -> RunStore:
    """`done` (completed) and `live` (running, as a killed server leaves it)."""
    store = RunStore(Database(f"sqlite:///{home / 'unlearnscope.db'}"))
    store.db.migrate()
    for run_id, final in (("done", "completed"), ("live", None)):
        store.create(run_id, preset_config("tiny"), RunStatus.QUEUED)
        events: list[Any] = [
            StatusEvent(seq=1, t=1.0, status="preparing"),
            StatusEvent(seq=2, t=2.0, status="running"),
            step(3, 1),
            step(4, 2),
        ]
        if final:
            events.append(StatusEvent(seq=5, t=5.0, status="completed", step=2))
        store.append(run_id, events)
    return store


def client(home: Path) -> TestClient:
    settings = Settings(home=home, device="cpu", port=8774)
    return TestClient(create_app(settings), base_url="http://127.0.0.1:8774")


def no_500(c: TestClient, run_ids: list[str]) -> dict[str, Any]:
    """The history through the API: every answer below 500 or a refusal; the runs."""
    runs = c.get("/api/runs")
    assert runs.status_code == 200, runs.text
    for run_id in run_ids:
        for path in ("", "/events", "/frames", "/report"):
            r = c.get(f"/api/runs/{run_id}{path}")
            assert r.status_code < 500, (path, r.status_code, r.text[:300])
    return {r["id"]: r for r in runs.json()}


def start_up_lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [
        r.getMessage()
        for r in caplog.records
        if r.levelno >= logging.ERROR and r.name.startswith("unlearnscope")
    ]


def test_a_full_disk_at_start_up_serves_the_history_read_only(
    mode: str, tmp_path: Path, mounts: list[Path], monkeypatch, caplog
) -> None:
    home = (tmpfs(tmp_path / "disk", "3m", mounts) if mode == "real" else tmp_path) / "home"
    make_home(home).db.dispose()
    if mode == "real":
        fill(home.parent)
    else:
        monkeypatch.setattr(lifecycle, "write_check", lambda h: OSError(errno.ENOSPC, "full"))
    with caplog.at_level(logging.WARNING), client(home) as c:
        runs = no_500(c, ["done", "live"])
        assert runs["done"]["status"] == "completed" and runs["live"]["status"] == "interrupted"
        lines = start_up_lines(caplog)
        assert len(lines) == 1, lines  # one line, no traceback
        assert "disk full" in lines[0] and "served" in lines[0] and "to fix" in lines[0]
        r = c.post("/api/runs?preset=tiny", json={})
        assert r.status_code == 507 and r.json()["reason"] == "disk full", r.text
        assert c.delete("/api/runs/done").status_code == 507
        assert "disk full" in c.get("/api/health").json()["read_only"]


def _home_with_unsaved_wal(home: Path) -> None:
    """A home whose every row is in the write-ahead log: the server that wrote it died
    before SQLite checkpointed (a child process, ended with os._exit)."""
    code = (
        "import os, sys; sys.path.insert(0, sys.argv[2]); import test_home_failures as t; "
        "from unlearnscope.storage import db; orig = db._sqlite_pragmas\n"
        "def no_checkpoint(c, r):\n    orig(c, r); c.execute('PRAGMA wal_autocheckpoint=0')\n"
        "db._sqlite_pragmas = no_checkpoint; t.make_home(__import__('pathlib').Path(sys.argv[1]))\n"
        "os._exit(0)"
    )
    subprocess.run([sys.executable, "-c", code, str(home), str(Path(__file__).parent)], check=True)
    assert (home / "unlearnscope.db-wal").stat().st_size > 0


@pytest.mark.parametrize("shm", ["shm", "no-shm"])
def test_a_read_only_mount_with_a_leftover_log_shows_everything_in_it(
    mode: str, shm: str, tmp_path: Path, mounts: list[Path], monkeypatch, caplog
) -> None:
    source = tmp_path / "source"
    _home_with_unsaved_wal(source)
    if shm == "no-shm":
        (source / "unlearnscope.db-shm").unlink()
    if mode == "real":
        home = tmp_path / "ro"
        home.mkdir()
        assert _mount("--bind", str(source), str(home))
        mounts.append(home)
        assert _mount("-o", "remount,ro,bind", str(home))
    else:
        home = source
        err = OperationalError(
            "stmt", {}, sqlite3.OperationalError("attempt to write a readonly database")
        )
        monkeypatch.setattr(Database, "migrate", lambda self: (_ for _ in ()).throw(err))
        monkeypatch.setattr(lifecycle.Lifecycle, "check_schema", lambda self: None)
        if shm == "no-shm":  # SQLite cannot read a log without its index read-only
            readable = dbmod._readable
            monkeypatch.setattr(
                dbmod,
                "_readable",
                lambda uri: "unable to open database file" if "mode=ro" in uri else readable(uri),
            )
    with caplog.at_level(logging.WARNING), client(home) as c:
        runs = no_500(c, ["done", "live"])  # every row was in the log only
        assert runs["done"]["status"] == "completed" and runs["live"]["status"] == "interrupted"
        events = c.get("/api/runs/done/events").json()["events"]
        assert [e["seq"] for e in events] == [1, 2, 3, 4, 5]
        lines = start_up_lines(caplog)
        assert len(lines) == 1 and "read-only" in lines[0], lines
        where = "read in place" if shm == "shm" else "replayed in a private copy"
        assert where in lines[0], lines[0]
        r = c.post("/api/runs?preset=tiny", json={})
        assert r.status_code == 503 and r.json()["reason"] == "read-only file system", r.text


def test_a_disk_that_fills_during_a_run_keeps_its_failure(
    mode: str, tmp_path: Path, mounts: list[Path], monkeypatch
) -> None:
    home = (tmpfs(tmp_path / "disk", "10m", mounts) if mode == "real" else tmp_path) / "home"
    make_home(home).db.dispose()
    with client(home) as c:
        service = c.app.state.service  # type: ignore[attr-defined]
        assert service.store.reserve is not None and service.store.reserve.held()
        service.store.create("full", preset_config("tiny"), RunStatus.QUEUED)
        service.store.append("full", [StatusEvent(seq=1, t=1.0, status="running")])
        service.live.add_worker("full", SimpleNamespace(kill=lambda: None, run_id="full"))
        if mode == "real":
            fill(home.parent)
        else:  # full until the reserve is given back
            append = service.store._append

            def full_until_released(run_id: str, events: list[Any]) -> Any:
                if service.store.reserve.held():
                    raise OperationalError(
                        "insert", {}, sqlite3.OperationalError("database or disk is full")
                    )
                return append(run_id, events)

            monkeypatch.setattr(service.store, "_append", full_until_released)
        service.bridge.on_events("full", [step(2 + i, i) for i in range(1, 300)])
        service.live.drop_worker("full")
        service.workers.on_exit("full", None, -9)
        assert c.get("/api/runs/full").json()["status"] == "failed"
    (home.parent / ".filler").unlink(missing_ok=True)
    monkeypatch.undo()
    with client(home) as c:
        run = no_500(c, ["full"])["full"]
        assert (run["status"], run["error"]) == ("failed", "disk full while storing events")
        last = c.get("/api/runs/full/events").json()["events"][-1]
        assert (last["type"], last["status"]) == ("status", "failed")


def test_a_killed_servers_runs_end_with_a_status_event(tmp_path: Path) -> None:
    """A real SIGKILL: a child process writes a run's events, then is killed mid-run."""
    code = (
        "import os, signal, sys; sys.path.insert(0, sys.argv[2]); import test_home_failures as t; "
        "t.make_home(__import__('pathlib').Path(sys.argv[1])); os.kill(os.getpid(), signal.SIGKILL)"
    )
    done = subprocess.run([sys.executable, "-c", code, str(tmp_path), str(Path(__file__).parent)])
    assert done.returncode == -signal.SIGKILL
    with client(tmp_path) as c:
        run = no_500(c, ["live"])["live"]
        assert run["status"] == "interrupted"
        last = c.get("/api/runs/live/events").json()["events"][-1]
        assert (last["type"], last["status"]) == ("status", "interrupted")
        assert last["seq"] == 5 and last["step"] == 2
    with client(tmp_path) as c:  # once: a second start adds nothing
        assert len(c.get("/api/runs/live/events").json()["events"]) == 5
