"""Issue 11, races and faults: a control sent while a run is launched is never lost; a run
interrupted by shutdown says so last; a saved model always matches the recorded step."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from live import LiveServer, tiny

from live_server import app_service
from unlearnscope.api.app import create_app
from unlearnscope.api.service import LaunchCancelled
from unlearnscope.control import Stop
from unlearnscope.events import StatusEvent
from unlearnscope.presets import preset_config
from unlearnscope.settings import Settings
from unlearnscope.states import RunStatus
from unlearnscope.storage.db import Database
from unlearnscope.storage.runs import RunStore
from unlearnscope.worker.handle import WorkerHandle


def test_a_stop_sent_while_the_worker_starts_is_applied(
    tmp_path: Path, model_cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`preparing`, process not started yet: the stop is kept and delivered at start."""
    entered, gate = threading.Event(), threading.Event()
    real_start = WorkerHandle.start

    def slow_start(self: WorkerHandle) -> None:
        entered.set()
        gate.wait(60)
        real_start(self)

    monkeypatch.setattr(WorkerHandle, "start", slow_start)
    with LiveServer(tmp_path / "home", model_cache, control_timeout=1.0) as server:
        body = tiny(ascent=300, recovery=300)
        poster = threading.Thread(
            target=httpx.post,
            args=(f"{server.url}/api/runs?preset=tiny",),
            kwargs={"json": body, "timeout": 120},
        )
        poster.start()
        try:
            assert entered.wait(60)
            run_id = server.http.get("/api/runs").json()[0]["id"]
            assert server.run(run_id)["status"] == "preparing"
            r = server.http.post(f"/api/runs/{run_id}/stop")
            assert r.status_code in (200, 202), r.text  # not 409 "no live worker"
        finally:
            gate.set()
            poster.join(120)
        final = server.wait_status(run_id, ("stopped", "completed", "failed"))
        assert final["status"] == "stopped", final
        assert final["step"] < 600


def test_a_stop_before_the_worker_exists_cancels_the_launch(tmp_path: Path) -> None:
    """The pool took the run out of line; `Workers.launch` has not made its worker yet."""
    settings = Settings(home=tmp_path, device="cpu", allowed_hosts=["testserver"])
    with TestClient(create_app(settings)) as c:
        service = app_service(c)
        service.store.create("q1", preset_config("tiny"), RunStatus.QUEUED)
        service.pool._active.add("q1")  # what RunPool._fill does just before `launch`
        answer: dict = {}
        stopper = threading.Thread(
            target=lambda: answer.update(r=c.post("/api/runs/q1/stop")), daemon=True
        )
        stopper.start()
        for _ in range(600):
            if service.live.pending("q1"):
                break
            stopper.join(0.05)
        [kept] = service.live.pending("q1")
        assert isinstance(kept, Stop) and kept.request_id
        with pytest.raises(LaunchCancelled):
            service.workers.launch("q1")
        service.pool._active.discard("q1")
        stopper.join(30)
        r = answer["r"]
        assert r.status_code == 200, r.text
        assert r.json()["applied"] is True and r.json()["status"] == "stopped"
        assert c.get("/api/runs/q1").json()["status"] == "stopped"
        assert service.worker("q1") is None


def test_a_run_interrupted_by_shutdown_says_so_last(tmp_path: Path, model_cache: Path) -> None:
    with LiveServer(tmp_path / "home", model_cache) as server:
        run_id = server.create(tiny(ascent=300, recovery=300))["id"]
        server.wait_step(run_id, 1)
        db_url = server.settings.db_url
    store = RunStore(Database(db_url))
    row = store.get(run_id)
    assert row is not None and row.status == "interrupted"
    statuses = [e for e in store.load_events(run_id) if isinstance(e, StatusEvent)]
    last = statuses[-1]
    assert "stopped by user" not in last.message
    assert "server shut down" in last.message and last.status == "interrupted"


def test_a_model_saved_past_the_recorded_step_is_not_used(tmp_path: Path) -> None:
    """A worker orphaned by a killed server trained on to step 38; the history says 35."""
    settings = Settings(home=tmp_path, device="cpu", allowed_hosts=["testserver"])
    with TestClient(create_app(settings)) as c:
        service = app_service(c)
        service.store.create("orph", preset_config("tiny"), RunStatus.QUEUED)
        service.store.append(
            "orph",
            [
                StatusEvent(seq=1, t=1.0, status="preparing"),
                StatusEvent(seq=2, t=2.0, status="running", step=35),
            ],
        )
        model = service.files.model_path("orph")
        model.parent.mkdir(parents=True)
        model.write_bytes(b"weights of step 38")
        model.with_suffix(".json").write_text(json.dumps({"step": 38}))
    service.pool.close()
    with TestClient(create_app(settings)) as c:
        run = c.get("/api/runs/orph").json()
        assert run["status"] == "interrupted" and run["step"] == 35
        assert "step 38" in run["message"] and "discarded" in run["message"]
        assert not model.exists()
        r = c.get("/api/runs/orph/samples/0")
        assert r.status_code == 404 and "no saved model" in r.json()["detail"]
