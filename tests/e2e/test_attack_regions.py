"""A WaNet run started from the form: the form offers only WaNet's fields, the heatmaps
outline each probe's trigger region as a contour, and the TAR chart says which region it
measures and switches to the localisation metrics."""

from __future__ import annotations

import os
import re
import time
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.browser

expect: Any = pytest.importorskip("playwright.sync_api").expect

TIMEOUT = 120_000  # ms
SHOTS = os.environ.get("UNLEARNSCOPE_SHOTS")  # a folder: also save screenshots there


def finish(server: Any, run_id: str, limit: float = 300) -> None:
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        status = server.http.get(f"/api/runs/{run_id}").json()["status"]
        if status in ("completed", "failed", "stopped"):
            assert status == "completed"
            return
        time.sleep(0.5)
    raise AssertionError(f"run {run_id} did not finish in {limit} s")


# Cyan contour pixels (#00d5ff) on a canvas: the region outline of a non-patch trigger.
CONTOUR_PIXELS = """c => { const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
    let n = 0; for (let i = 0; i < d.length; i += 4)
      if (d[i] < 40 && d[i + 1] > 190 && d[i + 2] > 230) n++; return n; }"""


def test_wanet_from_the_form_shows_the_region_contour(server: Any, page: Any) -> None:
    page.set_viewport_size({"width": 1440, "height": 900})
    page.goto(f"{server.url}/#/new")
    page.select_option("#preset", "tiny")
    expect(page.locator("#f-name")).to_have_value("tiny")
    page.select_option("#f-attack-kind", "wanet")
    expect(page.locator("#f-attack-settings-strength")).to_be_visible()
    expect(page.locator("#f-attack-settings-delta")).to_be_hidden()
    expect(page.locator("#f-attack-settings-trigger_size")).to_be_hidden()
    page.select_option("#f-attack-kind", "sig")
    expect(page.locator("#f-attack-settings-delta")).to_be_visible()
    expect(page.locator("#f-attack-settings-strength")).to_be_hidden()
    page.select_option("#f-attack-kind", "wanet")
    page.fill("#f-name", "e2e wanet")
    page.fill("#form-phase-0-steps", "4")
    page.fill("#form-phase-1-steps", "4")
    page.click("#start-run")
    page.wait_for_url(re.compile(r"#/run/\w+"))
    run_id = page.url.split("#/run/")[1]
    finish(server, run_id)
    run = server.http.get(f"/api/runs/{run_id}").json()
    assert run["config"]["attack"]["kind"] == "wanet"
    # only WaNet's own settings were sent (another attack's would be refused)
    wanet = {"grid", "strength", "cross_ratio", "pattern_seed"}
    assert set(run["config"]["attack"]["settings"]) == wanet

    page.goto(f"{server.url}/#/run/{run_id}")
    expect(page.locator("#connection")).to_have_text("Recorded run", timeout=TIMEOUT)
    cell = page.locator(".probe .heat[data-variant='triggered'][data-col='now'] canvas").first
    expect(cell).to_have_attribute("data-step", re.compile(r"[1-9]"), timeout=TIMEOUT)
    assert cell.evaluate(CONTOUR_PIXELS) > 20, "no region contour on the triggered heatmap"
    expect(page.locator("#region-legend")).to_contain_text("trigger region")
    legend_tip = page.locator("#region-legend").get_attribute("title") or ""
    assert "most changed pixels" in legend_tip
    note = page.locator("#chart-tar").locator("xpath=../..").locator(".chart-note")
    expect(note).to_contain_text("Trigger region: top 0.879% most changed pixels")
    page.select_option("#tar-metric", "auc")
    expect(note).to_contain_text("ROC-AUC")
    visible = page.evaluate(
        "() => document.querySelector('#chart-tar').data.filter(t => t.visible !== false)"
        ".map(t => t.name)"
    )
    assert visible and all("ROC-AUC" in name for name in visible), visible
    expect(page.locator("#kpi-ra")).to_be_visible()

    # the sample inspector outlines the region of any test image it is asked about
    cell.click()
    page.click("#zoom-inspect")
    page.fill("#inspect-index", "7")
    page.click(".inspect-form button[type=submit]")
    drawer = page.locator("#inspector")
    expect(drawer.locator(".inspect-summary")).to_contain_text("Test sample #7", timeout=TIMEOUT)
    triggered = drawer.locator("figure[data-variant='triggered'][data-choice] canvas")
    expect(triggered).to_have_count(3)
    assert all(triggered.nth(i).evaluate(CONTOUR_PIXELS) > 20 for i in range(3))
    clean = drawer.locator("figure[data-variant='clean'][data-choice] canvas")
    assert clean.first.evaluate(CONTOUR_PIXELS) == 0  # the clean image has no trigger
    if SHOTS:
        drawer.screenshot(path=str(Path(SHOTS) / "i15-wanet-inspector-1440.png"))
    page.keyboard.press("Escape")
    if SHOTS:
        page.select_option("#tar-metric", "tar")
        page.locator(".probe").first.scroll_into_view_if_needed()
        page.screenshot(path=str(Path(SHOTS) / "i15-wanet-e2e-1440.png"))
