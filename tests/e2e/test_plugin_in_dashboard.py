"""A phase kind from an installed third-party package runs in the dashboard: a real
`unlearnscope serve` whose Python finds the package (tests/plugin_package.py) offers the
kind in the new-run form with its own settings, runs it, and draws it like a built-in."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from plugin_package import install
from unlearnscope.api.server_thread import free_port

pytestmark = pytest.mark.browser

expect: Any = pytest.importorskip("playwright.sync_api").expect
TIMEOUT = 120_000  # ms


@pytest.fixture(scope="module")
def plugin_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    site = tmp_path_factory.mktemp("site")
    install(site)
    port = free_port()
    cache = tmp_path_factory.getbasetemp() / "tiny_model_cache"  # shared with other modules
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(site), *sys.path]),
        "UNLEARNSCOPE_CACHE_ROOT": str(cache),
        "UNLEARNSCOPE_TORCH_THREADS": "1",
    }
    home = tmp_path_factory.mktemp("plugin-home")
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "unlearnscope",
            "serve",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--home",
            str(home),
            "--device",
            "cpu",
        ],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{url}/api/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if server.poll() is not None or time.monotonic() > deadline:
                output = server.stdout.read() if server.stdout else ""
                raise AssertionError(f"the server did not start: {output}")
            time.sleep(0.2)
        yield url
    finally:
        server.terminate()
        server.wait(30)


def test_a_plug_in_kind_runs_in_the_dashboard(
    plugin_server: str, browser: Any, tmp_path: Path
) -> None:
    page = browser.new_page(viewport={"width": 1440, "height": 900})
    page.goto(f"{plugin_server}/#/new")
    page.select_option("#preset", "tiny")
    expect(page.locator(".phase-kinds")).to_contain_text("Gentle fine-tuning")
    page.select_option("#form-phase-1-kind", "gentle")
    page.fill("#form-phase-1-steps", "6")
    page.fill("#f-name", "e2e plug-in kind")
    page.screenshot(path=str(tmp_path / "plugin-form.png"), full_page=True)
    page.click("#start-run")
    page.wait_for_url("**/#/run/*", timeout=TIMEOUT)
    run_id = page.url.split("#/run/")[1]
    deadline = time.monotonic() + TIMEOUT / 1000
    while (run := httpx.get(f"{plugin_server}/api/runs/{run_id}").json())["status"] not in (
        "completed",
        "failed",
        "stopped",
    ) and time.monotonic() < deadline:
        time.sleep(0.5)
    assert run["status"] == "completed", run
    assert [p["kind"] for p in run["config"]["schedule"]] == ["ascent", "gentle"]
    assert run["config"]["schedule"][1]["settings"] == {"share": 0.5}  # its own default
    steps = httpx.get(f"{plugin_server}/api/runs/{run_id}/events?type=step").json()
    gentle = [e for e in steps["events"] if e["kind"] == "gentle"]
    assert len(gentle) == 6 and all(e["losses"]["share"] == 0.5 for e in gentle)
    # the run view draws its phase like a built-in's: a band and a loss line of its own
    expect(page.locator(".js-plotly-plot").first).to_contain_text("gentle")
    page.screenshot(path=str(tmp_path / "plugin-run.png"))
    page.close()
