"""Writes the home `release_home.tar.gz` holds: what release 0.1.0 (before schema versions
and migrations) stored for two short runs on the tiny preset, one completed and one
stopped, plus each run's event log as the API replayed it then (`expected_replay.json`).

Run once with the release's code (it was, on the commit before the migrations):
    python tests/storage/data/make_release_home.py OUT_DIR
Not a test: tests/storage/test_migrations.py opens the archive it made.
"""

from __future__ import annotations

import json
import shutil
import sys
import tarfile
import time
from pathlib import Path
from typing import Any

TESTS = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(TESTS))

from live_server import LiveServer  # noqa: E402

WAIT = 1500.0  # seconds: a busy 2-core machine starts a worker slowly


def replay(server: LiveServer, run_id: str) -> list[dict[str, Any]]:
    r = server.http.get(f"/api/runs/{run_id}/events", params={"limit": 10000})
    assert r.status_code == 200, r.text
    return list(r.json()["events"])


def main(out: Path) -> None:
    import torch

    from unlearnscope.ml.checkpoints import FileModelStore
    from unlearnscope.ml.preparation import prepare
    from unlearnscope.presets import preset_config

    home, cache = out / "home", out / "cache"
    prepare(preset_config("tiny"), torch.device("cpu"), store=FileModelStore(cache / "models"))
    small = {"monitor": {"probe_count": 2, "tar_set_size": 16, "eval_every": 2, "eval_size": 32}}
    with LiveServer(home, cache) as server:
        done = server.create({"name": "release-completed", **small})["id"]
        server.wait_status(done, ("completed", "failed"), WAIT)
        slow = {"name": "release-stopped", **small}
        stopped = server.create(slow)["id"]
        server.wait_step(stopped, 2, WAIT)
        server.http.post(f"/api/runs/{stopped}/stop")
        server.wait_status(stopped, ("stopped", "completed", "failed"), WAIT)
        time.sleep(0.5)
        expected = {
            "runs": {r["id"]: r for r in server.http.get("/api/runs").json()},
            "events": {i: replay(server, i) for i in (done, stopped)},
        }
    shutil.rmtree(home / "cache", ignore_errors=True)
    (out / "expected_replay.json").write_text(json.dumps(expected, indent=1, sort_keys=True))
    with tarfile.open(out / "release_home.tar.gz", "w:gz") as tar:
        tar.add(home, arcname="home")


if __name__ == "__main__":
    main(Path(sys.argv[1]))
