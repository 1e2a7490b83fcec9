"""A real uvicorn on 127.0.0.1 in a thread of the test process, serving the real app.

Shared by the API tests (tests/api/live.py) and the browser tests (tests/e2e). Running the
server in-process lets a test reach its service (for a worker's pid) while every request
still goes over real sockets; runs still go through worker processes.
"""

from __future__ import annotations

import socket
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import uvicorn

from unlearnscope.api.app import create_app
from unlearnscope.settings import Settings

TIMEOUT = 120.0  # seconds: the longest a test waits for a run (they take a few)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LiveServer:
    def __init__(self, home: Path, cache: Path, **settings: Any) -> None:
        self.port = free_port()
        self.settings = Settings(
            home=home,
            cache_root=cache,
            host="127.0.0.1",
            port=self.port,
            device="cpu",
            torch_threads=1,
            **settings,
        )
        self.app = create_app(self.settings)
        config = uvicorn.Config(
            self.app,
            host="127.0.0.1",
            port=self.port,
            log_level="warning",
            ws_max_size=64 * 1024 * 1024,
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.http = httpx.Client(base_url=self.url, timeout=60)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def ws_url(self, path: str) -> str:
        return f"ws://127.0.0.1:{self.port}{path}"

    @property
    def service(self) -> Any:
        return self.app.state.service

    def start(self) -> LiveServer:
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.05)
        return self

    def stop(self) -> None:
        self.http.close()
        self.server.should_exit = True
        self.thread.join(60)

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
