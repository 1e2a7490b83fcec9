"""The server with UNLEARNSCOPE_EXECUTOR=ray on a real two-node local Ray cluster: a run
streams the same way, says where it runs, and outlives a server restart: the next server
re-attaches to its actor and the log has every event once."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from live import LiveServer, open_ws, read_all, tiny

pytestmark = pytest.mark.slow


def _contiguous(seqs: list[int]) -> bool:
    return seqs == list(range(1, len(seqs) + 1))


def test_a_ray_run_streams_says_where_and_survives_a_server_restart(
    tmp_path: Path, model_cache: Path, ray_cluster: Any
) -> None:
    ray_cluster.wait_idle()
    home = tmp_path / "home"
    ray = {"executor": "ray", "ray_address": ray_cluster.address, "ray_num_cpus": 1}
    with LiveServer(home, model_cache, **ray) as first:
        assert first.http.get("/api/health").status_code == 200
        run_id = first.create(tiny("on-ray", ascent=2, recovery=60))["id"]
        with open_ws(first.ws_url(f"/api/runs/{run_id}/stream")) as ws:
            early = read_all(ws, until=lambda m: m.type == "step" and m.header["step"] >= 4)
        assert _contiguous(early.seqs)
        run = first.run(run_id)
        assert run["status"] in ("running", "paused") and " on " in (run["device"] or "")
        assert " on 127.0.0.1 " in run["device"]  # the test cluster's nodes are on loopback
        assert "node" in run["device"]
        # The server stops: the run goes on, on the cluster (it is not interrupted).
    with LiveServer(home, model_cache, **ray) as second:
        assert second.run(run_id)["status"] in ("preparing", "running", "completed")
        done = second.wait_status(run_id, ("completed", "failed", "interrupted"))
        assert done["status"] == "completed", done
        with open_ws(second.ws_url(f"/api/runs/{run_id}/stream")) as ws:
            replay = read_all(ws)
        assert _contiguous(replay.seqs)  # the restart lost and repeated nothing
        assert [(m.header, m.parts) for m in replay.events[: len(early.events)]] == [
            (m.header, m.parts) for m in early.events
        ]
        steps = [m.header["step"] for m in replay.events if m.type == "step"]
        assert steps == list(range(1, 63))
        model = second.http.get(f"/api/runs/{run_id}/samples/5")
        assert model.status_code == 200 and model.json()["source"] == "saved"
