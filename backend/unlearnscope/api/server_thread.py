"""uvicorn serving `create_app(settings)` in a thread of this process, on 127.0.0.1.

For the benchmarks and the tests: every request and stream goes over real sockets, while
the caller can still reach the app's service (a run's worker pid, its state).
"""

from __future__ import annotations

import socket
import threading
import time
from typing import Any

import httpx
import uvicorn

from ..settings import Settings
from .app import create_app

START_TIMEOUT_S = 60.0
# uvicorn's options for `unlearnscope serve` and for this thread alike. No per-message
# deflate: uvicorn would compress every message once per client, so N dashboards cost N
# compressions of each heatmap frame and the fan-out, not the engine, set the pace
# (`unlearnscope bench --only streaming`; docs/performance.md). Frames are small.
UVICORN_OPTIONS: dict[str, Any] = {"ws_per_message_deflate": False}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class ServerThread:
    def __init__(self, settings: Settings, **uvicorn_options: Any) -> None:
        self.settings = settings
        self.port = settings.port
        self.app = create_app(settings)
        config = uvicorn.Config(
            self.app,
            host="127.0.0.1",
            port=self.port,
            log_level="warning",
            **{**UVICORN_OPTIONS, **uvicorn_options},
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, name="uvicorn", daemon=True)
        self.http = httpx.Client(base_url=self.url, timeout=60)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def ws_url(self, path: str) -> str:
        return f"ws://127.0.0.1:{self.port}{path}"

    @property
    def service(self) -> Any:
        return self.app.state.service

    def start(self) -> ServerThread:
        self.thread.start()
        deadline = time.monotonic() + START_TIMEOUT_S
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.05)
        return self

    def stop(self) -> None:
        self.http.close()
        self.server.should_exit = True
        self.thread.join(60)
