"""Browser-test fixtures: one real server on 127.0.0.1 and one system Chromium per module.

The server runs in a thread of the test process (uvicorn on a free port, a tmp home); its
runs still go through worker processes and real sockets, exactly as in `unlearnscope
serve`. The tests share one page (`run_page`), so Plotly and a run's history load once;
each test leaves a screenshot in its tmp dir.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from live_server import LiveServer

VIEWPORT = {"width": 1280, "height": 800}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    # The backdoored tiny model is cached here; other test modules share the folder.
    cache = tmp_path_factory.getbasetemp() / "tiny_model_cache"
    srv = LiveServer(tmp_path_factory.mktemp("e2e-home"), cache).start()
    try:
        yield srv
    finally:
        for run in srv.http.get("/api/runs").json():  # stop what a failed test left running
            if run["status"] in ("queued", "preparing", "running", "paused"):
                srv.http.post(f"/api/runs/{run['id']}/stop")
        srv.stop()


class Network:
    """Every run-stream WebSocket of a page goes through here, so a test can cut it."""

    def __init__(self) -> None:
        self.cut = False
        self.sockets: list[Any] = []

    def route(self, ws: Any) -> None:
        if self.cut:
            ws.close(code=4000, reason="network down (test)")
            return
        ws.connect_to_server()
        self.sockets.append(ws)

    def drop(self) -> None:
        """Close the open streams and refuse new ones until `restore`."""
        self.cut = True
        for ws in self.sockets:
            ws.close(code=4000, reason="network down (test)")
        self.sockets.clear()

    def restore(self) -> None:
        self.cut = False


def new_page(browser: Any) -> tuple[Any, Any, list[str], Network]:
    context = browser.new_context(viewport=VIEWPORT, accept_downloads=True)
    network = Network()
    context.route_web_socket(re.compile(r"/api/runs/\w+/stream"), network.route)
    pg = context.new_page()
    pg.set_default_timeout(60_000)
    errors: list[str] = []
    pg.on("pageerror", lambda err: errors.append(str(err)))
    pg.network = network
    return context, pg, errors, network


def screenshot(pg: Any, path: Path) -> None:
    pg.screenshot(path=str(path))
    print(f"screenshot: {path}")


@pytest.fixture(scope="module")
def shared_page(browser: Any) -> Iterator[tuple[Any, list[str]]]:
    """One page for the tests that follow one run: Plotly and the history load once."""
    context, pg, errors, _ = new_page(browser)
    try:
        yield pg, errors
    finally:
        context.close()


@pytest.fixture
def run_page(shared_page: tuple[Any, list[str]], tmp_path: Path, request: Any) -> Iterator[Any]:
    """The shared page; JavaScript errors fail the test; a screenshot at the end."""
    pg, errors = shared_page
    errors.clear()
    try:
        yield pg
    finally:
        screenshot(pg, tmp_path / f"{request.node.name}.png")
    assert not errors, f"JavaScript errors on the page: {errors}"


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    """A page of its own (its own viewport); JavaScript errors fail the test."""
    context, pg, errors, _ = new_page(browser)
    try:
        yield pg
    finally:
        context.close()
    assert not errors, f"JavaScript errors on the page: {errors}"
