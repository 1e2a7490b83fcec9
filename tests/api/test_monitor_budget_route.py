"""PATCH /api/runs/{id}/monitor: the live monitor's budget, changed while a run runs."""

from __future__ import annotations

from pathlib import Path

import pytest
from live import TIMEOUT, LiveServer, tiny


@pytest.fixture
def server(tmp_path: Path, model_cache: Path):
    with LiveServer(tmp_path / "home", model_cache, max_active_runs=2) as s:
        yield s


def test_the_budget_of_a_paused_live_run_changes_and_bad_ones_are_refused(
    server: LiveServer,
) -> None:
    run_id = server.create(tiny("price", recovery=400, monitor={"budget": 5}))["id"]
    server.wait_step(run_id, 1)
    r = server.http.post(f"/api/runs/{run_id}/pause")
    assert r.status_code == 200, r.text

    r = server.http.patch(f"/api/runs/{run_id}/monitor", json={"budget": 20})
    assert r.status_code == 200, r.text
    status = r.json()
    assert status["type"] == "monitor_status" and status["budget"] == 20.0
    assert 0 < status["duty"] <= 1 and status["behind"] >= 0

    for bad in ({"budget": 0}, {"budget": 101}, {"budget": "much"}, {"budget": 5, "x": 1}):
        r = server.http.patch(f"/api/runs/{run_id}/monitor", json=bad)
        assert r.status_code == 422, (bad, r.text)
    assert server.http.patch("/api/runs/nope/monitor", json={"budget": 5}).status_code == 404
    server.http.post(f"/api/runs/{run_id}/stop")
    server.wait_status(run_id, ("stopped",), timeout=TIMEOUT)
    r = server.http.patch(f"/api/runs/{run_id}/monitor", json={"budget": 5})
    assert r.status_code == 409 and r.json()["state"] == "stopped", r.text


def test_a_run_monitored_in_the_loop_has_no_budget_to_change(server: LiveServer) -> None:
    run_id = server.create(tiny("loop", recovery=400))["id"]  # budget 0
    server.wait_step(run_id, 1)
    r = server.http.patch(f"/api/runs/{run_id}/monitor", json={"budget": 5})
    assert r.status_code == 409 and "training loop" in r.json()["detail"], r.text
    server.http.post(f"/api/runs/{run_id}/stop")
    server.wait_status(run_id, ("stopped",), timeout=TIMEOUT)
