"""The report in Chromium, from file://, with every network request refused."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from report_runs import COMPLETED, FAILED

from unlearnscope.report import write_report

pytestmark = pytest.mark.browser


def open_offline(browser: Any, path: Path, shots: Path) -> tuple[Any, list[str], list[str]]:
    """The page, the requests it made (the file itself included) and its console errors."""
    ctx = browser.new_context(viewport={"width": 1440, "height": 900})
    requests: list[str] = []
    errors: list[str] = []
    own = path.as_uri()
    ctx.route(
        "**/*", lambda route: route.continue_() if route.request.url == own else route.abort()
    )
    page = ctx.new_page()
    page.on("request", lambda r: requests.append(r.url))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda err: errors.append(str(err)))
    page.goto(own)
    page.wait_for_function("window.report && window.report.ready !== undefined")
    page.evaluate("window.report.ready")
    page.screenshot(path=str(shots / f"{path.stem}.png"), full_page=True)
    return page, requests, errors


def canvas_pixels(page: Any, probe: int, variant: int) -> str:
    return page.evaluate(
        "([p, v]) => document.querySelectorAll('#probe-grid .probe')[p]"
        ".querySelectorAll('canvas')[v].toDataURL()",
        [probe, variant],
    )


def test_report_works_offline_charts_render_and_slider_moves_heatmaps(
    browser, facts, tmp_path
) -> None:
    f = facts[COMPLETED]
    path = write_report(f, tmp_path / "completed.html")
    page, requests, errors = open_offline(browser, path, tmp_path)
    assert requests == [path.as_uri()], f"the report asked for more than itself: {requests}"
    assert errors == []
    # three charts, drawn by the embedded Plotly, with points in them
    for chart in ("quality", "tar", "loss"):
        points = page.evaluate(
            f"document.getElementById('chart-{chart}').data.reduce((n, t) => n + t.x.length, 0)"
        )
        assert points > 0, chart
        assert page.locator(f"#chart-{chart} .main-svg").count() >= 1
    # the print images of the charts exist (a printed page shows pictures, not SVG)
    assert page.evaluate("document.getElementById('print-quality').src").startswith(
        "data:image/png"
    )
    # the slider: last frame shown first; moving it to the first frame repaints the maps
    last = len(f.frames) - 1
    assert page.locator("#player-info").inner_text().startswith(f"Step {f.frames[-1].step}")
    at_end = canvas_pixels(page, 0, 1)
    page.locator("#step-slider").fill("0")
    assert page.locator("#player-info").inner_text().startswith(f"Step {f.frames[0].step} ")
    assert canvas_pixels(page, 0, 1) != at_end
    # the chart cursor follows the slider
    cursor = page.evaluate(
        "document.getElementById('chart-quality').layout.shapes"
        ".filter(s => s.line && s.line.width === 2)[0].x0"
    )
    assert cursor == f.frames[0].step
    # play runs to the end by itself
    page.locator("#speed").select_option("15")
    page.locator("#play").click()
    page.wait_for_function("window.report.timer === null", timeout=30_000)  # stopped by itself
    assert page.evaluate("window.report.index") == last
    assert page.locator("#play").inner_text() == "▶ Play"
    assert errors == []


def test_failed_run_report_opens_offline_and_says_why(browser, facts, tmp_path) -> None:
    path = write_report(facts[FAILED], tmp_path / "failed.html")
    page, requests, errors = open_offline(browser, path, tmp_path)
    assert requests == [path.as_uri()] and errors == []
    assert "does not exist" in page.locator("#failure").inner_text()
    assert page.locator("#player").is_hidden()
    assert "nothing to plot" in page.locator("#chart-note").inner_text()
