"""A real uvicorn on 127.0.0.1 in a thread of the test process, serving the real app.

Shared by the API tests (tests/api/live.py), the browser tests (tests/e2e) and the report
tests: the package's ServerThread (also the benchmarks' server) with test settings and
helpers. Runs still go through worker processes.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from unlearnscope.api.server_thread import ServerThread, free_port
from unlearnscope.settings import Settings


def app_service(client: Any) -> Any:
    """The RunService of a TestClient's app (for tests that look behind the API)."""
    return client.app.state.service


TIMEOUT = 120.0  # seconds: the longest a test waits for a run (they take a few)


class LiveServer(ServerThread):
    def __init__(self, home: Path, cache: Path, **settings: Any) -> None:
        super().__init__(
            Settings(
                home=home,
                cache_root=cache,
                host="127.0.0.1",
                port=free_port(),
                device="cpu",
                torch_threads=1,
                **settings,
            ),
            ws_max_size=64 * 1024 * 1024,
        )

    def start(self) -> LiveServer:
        super().start()
        return self

    def __enter__(self) -> LiveServer:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    # -- helpers -------------------------------------------------------------------------
    def create(self, body: dict[str, Any]) -> dict[str, Any]:
        r = self.http.post("/api/runs", params={"preset": "tiny"}, json=body)
        assert r.status_code == 201, r.text
        return r.json()

    def run(self, run_id: str) -> dict[str, Any]:
        r = self.http.get(f"/api/runs/{run_id}")
        assert r.status_code == 200, r.text
        return r.json()

    def wait_status(self, run_id: str, statuses: tuple[str, ...], timeout: float = TIMEOUT):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            run = self.run(run_id)
            if run["status"] in statuses:
                return run
            time.sleep(0.1)
        raise AssertionError(f"run {run_id} never reached {statuses}: {self.run(run_id)}")

    def wait_step(self, run_id: str, step: int, timeout: float = TIMEOUT) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            run = self.run(run_id)
            if run["step"] >= step or run["status"] in ("completed", "failed", "stopped"):
                return run
            time.sleep(0.05)
        raise AssertionError(f"run {run_id} never reached step {step}")
