"""Issue 11, bad input: every integer bounded at the edge, every error JSON, limits named,
data roots kept inside the data directory, disk full and read-only homes answered."""

from __future__ import annotations

import errno
import shutil
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import pytest
from fastapi.testclient import TestClient
from starlette.testclient import WebSocketDenialResponse

from live_server import app_service
from unlearnscope.api.app import create_app
from unlearnscope.api.service import lifecycle
from unlearnscope.api.service.workers import Workers
from unlearnscope.events import ErrorEvent, StatusEvent
from unlearnscope.presets import preset_config
from unlearnscope.settings import Settings
from unlearnscope.states import RunStatus

BIG = 10**30


def _settings(tmp_path: Path, **extra) -> Settings:
    return Settings(home=tmp_path / "home", device="cpu", allowed_hosts=["testserver"], **extra)


@pytest.fixture
def client(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[TestClient]:
    """An app whose runs never get a worker (the launch is a no-op: they stay active)."""
    monkeypatch.setattr(Workers, "launch", lambda self, run_id: None)
    (tmp_path / "data" / "cifar").mkdir(parents=True)
    settings = _settings(tmp_path, data_dir=tmp_path / "data", max_queued_per_client=2)
    with TestClient(create_app(settings), raise_server_exceptions=False) as c:
        yield c


def _run(c: TestClient, status: RunStatus = RunStatus.COMPLETED) -> str:
    app_service(c).store.create("r1", preset_config("tiny"), status)
    return "r1"


@pytest.mark.parametrize(
    ("path", "field"),
    [
        ("/api/runs?offset=9223372036854775808", "query.offset"),
        (f"/api/runs/r1/events?after={BIG}", "query.after"),
        (f"/api/runs/r1/events/{BIG}/bytes", "path.seq"),
        (f"/api/runs/r1/frames?step={2**63}", "query.step"),
        (f"/api/runs/r1/frames/{BIG}/0/clean.png", "path.step"),
        (f"/api/runs/r1/frames/0/{BIG}/clean.png", "path.probe"),
        (f"/api/runs/r1/frames/{BIG}/maps", "path.step"),
        (f"/api/runs/r1/samples/{BIG}", "path.index"),
    ],
)
def test_integers_past_the_database_get_422_naming_them(client, path, field) -> None:
    _run(client)
    r = client.get(path)
    assert r.status_code == 422, r.text
    assert r.json()["fields"] == [field]


@pytest.mark.parametrize("after", [str(BIG), "-1", "x"])
def test_a_bad_stream_parameter_is_bad_input_not_a_refusal(client, after) -> None:
    _run(client)
    with pytest.raises(WebSocketDenialResponse) as denied:
        with client.websocket_connect(f"/api/runs/r1/stream?after={after}"):
            pass
    assert denied.value.status_code == 422
    assert denied.value.json()["fields"] == ["query.after"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ('{"seed": 18446744073709551616}', "seed"),
        ('{"attack": {"pattern_seed": 1180591620717411303424}}', "attack.settings.pattern_seed"),
        ('{"training": {"lr": Infinity}}', "training.lr"),
        ('{"data": {"mean": [NaN, 0.5, 0.5]}}', "data.mean.0"),
        ('{"data": {"std": [0, 0.5, 0.5]}}', "data.std.0"),
        ('{"model": {"cam_layer": "no.such.layer"}}', "model.cam_layer"),
    ],
)
def test_configs_that_would_fail_in_the_worker_are_refused(client, body, field) -> None:
    r = client.post(
        "/api/runs?preset=tiny", content=body, headers={"content-type": "application/json"}
    )
    assert r.status_code == 422, r.text
    assert field in r.json()["fields"]


def test_a_stored_config_can_be_resubmitted(client) -> None:
    created = client.post("/api/runs?preset=tiny", json={"seed": 3}).json()
    again = client.post("/api/runs", json=created["config"])
    assert again.status_code == 201, again.text
    assert client.post("/api/runs?preset=", json={}).status_code == 201  # empty: no preset


@pytest.mark.parametrize(
    ("body", "limit", "field"),
    [
        ({"data": {"image_size": 256}}, "max_image_size", "data.image_size"),
        ({"training": {"batch_size": 4096}}, "max_batch_size", "training.batch_size"),
        ({"monitor": {"probe_count": 64}}, "max_probe_count", "monitor.probe_count"),
        ({"monitor": {"tar_set_size": 100_000}}, "max_tar_set_size", "monitor.tar_set_size"),
        ({"data": {"train_size": 10_000_000}}, "max_dataset_size", "data.train_size"),
        ({"training": {"epochs": 500}}, "max_epochs", "training.epochs"),
        (
            {"schedule": [{"kind": "ascent", "steps": 100_000, "lr": 0.1}] * 2},
            "max_total_steps",
            "schedule",
        ),
    ],
)
def test_runs_past_a_server_limit_get_422_naming_it(client, body, limit, field) -> None:
    r = client.post("/api/runs?preset=tiny", json=body)
    assert r.status_code == 422, r.text
    assert r.json()["limit"] == limit and r.json()["fields"] == [field]
    assert f"UNLEARNSCOPE_{limit.upper()}" in r.json()["detail"]


def test_the_estimated_memory_of_a_run_is_limited(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(Workers, "launch", lambda self, run_id: None)
    with TestClient(create_app(_settings(tmp_path, max_run_memory_mb=64))) as c:
        r = c.post("/api/runs?preset=tiny", json={"data": {"train_size": 100_000}})
        assert r.status_code == 422 and r.json()["limit"] == "max_run_memory_mb"
        assert c.post("/api/runs?preset=tiny", json={}).status_code == 201


def test_queued_runs_per_client_are_limited(client) -> None:
    first = client.post("/api/runs?preset=tiny", json={})  # takes the one slot
    assert first.status_code == 201 and first.json()["queue_position"] is None
    for _ in range(2):
        assert client.post("/api/runs?preset=tiny", json={}).status_code == 201
    r = client.post("/api/runs?preset=tiny", json={})
    assert r.status_code == 429 and r.json()["limit"] == "max_queued_per_client"


def test_data_roots_stay_inside_the_data_directory(client, tmp_path: Path) -> None:
    for root in ("/etc", "/proc/self", str(tmp_path / "data" / ".." / "home")):
        r = client.post("/api/runs?preset=tiny", json={"data": {"root": root}})
        assert r.status_code == 422 and r.json()["fields"] == ["data.root"]
        assert root not in r.text and str(tmp_path) not in r.text  # no server path echoed
    inside = str(tmp_path / "data" / "cifar")
    assert client.post("/api/runs?preset=tiny", json={"data": {"root": inside}}).status_code == 201


def test_downloads_need_the_data_directory(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(Workers, "launch", lambda self, run_id: None)
    with TestClient(create_app(_settings(tmp_path))) as c:
        body = {"data": {"name": "cifar10", "download": True}}
        r = c.post("/api/runs?preset=tiny", json=body)
        assert r.status_code == 422 and r.json()["fields"] == ["data.download"]


def test_an_unexpected_error_is_a_json_500_without_details(client, monkeypatch) -> None:
    def boom(*args, **kwargs):
        raise RuntimeError("/very/secret/server/path")

    monkeypatch.setattr(app_service(client), "list_runs", boom)
    r = client.get("/api/runs")
    assert r.status_code == 500
    assert r.json()["error"] == "RuntimeError" and "/very/secret" not in r.text


def test_clients_get_an_errors_type_and_message_not_its_traceback(client) -> None:
    service = app_service(client)
    _run(client, RunStatus.RUNNING)
    trace = 'Traceback (most recent call last):\n  File "/home/lab/secret.py", line 1'
    service.bridge.on_events(
        "r1", [ErrorEvent(seq=1, t=1.0, message="ValueError: bad", traceback=trace)]
    )
    events = client.get("/api/runs/r1/events").json()["events"]
    assert events[0]["message"] == "ValueError: bad" and events[0]["traceback"] == ""
    assert "secret.py" not in client.get("/api/runs/r1/events").text


def test_disk_full_fails_the_run_and_refuses_new_ones(client, monkeypatch) -> None:
    service = app_service(client)
    _run(client, RunStatus.RUNNING)
    killed = []
    service.live.add_worker("r1", SimpleNamespace(kill=lambda: killed.append(True)))

    def full(*args, **kwargs):
        raise sqlite3.OperationalError("database or disk is full")

    monkeypatch.setattr(service.store, "append", full)
    event = StatusEvent(seq=1, t=1.0, status="running", step=1)
    service.bridge.on_events("r1", [event])
    assert killed == [True]  # its worker is stopped
    run = client.get("/api/runs/r1").json()
    assert run["status"] == "failed" and run["message"] == "disk full while storing events"
    monkeypatch.setattr(shutil, "disk_usage", lambda p: SimpleNamespace(free=1024))
    r = client.post("/api/runs?preset=tiny", json={})
    assert r.status_code == 507 and r.json()["reason"] == "disk full while storing events"
    assert client.get("/api/health").json()["disk_full"] == "disk full while storing events"
    assert client.get("/api/runs").status_code == 200  # the server keeps serving
    monkeypatch.undo()  # room on the disk again, but the database cannot grow: still 507
    monkeypatch.setattr(service.store, "create", full)
    assert client.post("/api/runs?preset=tiny", json={}).status_code == 507
    service.live.drop_worker("r1")  # the fake worker


def test_a_read_only_home_serves_the_history(tmp_path: Path, monkeypatch) -> None:
    settings = _settings(tmp_path)
    with TestClient(create_app(settings)) as c:
        app_service(c).store.create("old", preset_config("tiny"), RunStatus.COMPLETED)
    monkeypatch.setattr(
        lifecycle, "write_check", lambda home: OSError(errno.EROFS, "Read-only file system")
    )
    with TestClient(create_app(_settings(tmp_path))) as c:
        health = c.get("/api/health").json()
        assert "read-only" in health["read_only"]
        assert [r["id"] for r in c.get("/api/runs").json()] == ["old"]
        r = c.post("/api/runs?preset=tiny", json={})
        assert r.status_code == 503 and "read-only" in r.json()["detail"]
        assert c.delete("/api/runs/old").status_code == 503
        assert c.get("/api/runs/old/export").status_code == 200
