"""Presentation mode in Chromium at projector sizes: recorded (with Replay) and live."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from report_runs import COMPLETED

pytestmark = pytest.mark.browser

SIZES = [(1280, 720), (1920, 1080)]


@pytest.fixture(scope="module")
def server(report_home: Path, model_cache: Path) -> Iterator[Any]:
    from live_server import LiveServer

    with LiveServer(report_home, model_cache) as srv:
        yield srv


def shots_dir(tmp_path: Path) -> Path:
    """Screenshots go to $UNLEARNSCOPE_SHOTS when set (to look at them), else tmp."""
    folder = Path(os.environ.get("UNLEARNSCOPE_SHOTS", tmp_path))
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def open_page(browser: Any, server: Any, run_id: str, size: tuple[int, int]) -> tuple[Any, list]:
    page = browser.new_page(viewport={"width": size[0], "height": size[1]})
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda err: errors.append(str(err)))
    page.goto(f"{server.url}/#/run/{run_id}?present=1")
    return page, errors


def step_shown(page: Any) -> int:
    found = re.search(r"\d+", page.locator("#present-step").inner_text())
    assert found is not None
    return int(found.group())


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_present_fills_the_screen_replays_and_esc_leaves(browser, server, facts, size, tmp_path):
    f = facts[COMPLETED]
    page, errors = open_page(browser, server, COMPLETED, size)
    page.wait_for_selector("#presenter .pr-probe canvas")
    page.wait_for_function(
        f"document.querySelector('#present-step').textContent === 'Step {f.last_step}'"
    )
    box = page.locator("#presenter").bounding_box()
    assert (box["width"], box["height"]) == size  # the whole viewport, nothing else shows
    assert not page.locator("#presenter form, #presenter input, #presenter nav").count()
    # big numbers: readable from the back of the room (at least 7% of the screen height)
    now = page.locator("#present-asr .pr-now")
    assert float(now.evaluate("e => parseFloat(getComputedStyle(e).fontSize)")) >= 0.07 * size[1]
    assert page.locator("#present-ca .pr-now").inner_text().endswith("%")
    # nothing overflows the screen
    overflow = page.evaluate(
        "[...document.querySelectorAll('#presenter *')].filter(e => {"
        " const r = e.getBoundingClientRect();"
        " return r.width && (r.right > innerWidth + 1 || r.bottom > innerHeight + 1); }).length"
    )
    assert overflow == 0
    assert page.locator("#present-chart .main-svg").count() >= 1
    page.screenshot(path=str(shots_dir(tmp_path) / f"present-{size[0]}x{size[1]}.png"))
    # Replay from the start at a chosen speed, pause half-way
    page.select_option("#present-speed", "5")
    page.click("#present-replay")
    # it starts over from step 0 and moves on by itself
    page.wait_for_function(
        "document.querySelector('#present-where .pr-replay') !== null"
        " && /Step [1-9]/.test(document.querySelector('#present-step').textContent)"
    )
    page.click("#present-replay")  # pause
    paused_at = step_shown(page)
    assert 0 < paused_at <= f.last_step
    page.screenshot(path=str(shots_dir(tmp_path) / f"present-{size[0]}x{size[1]}-replay.png"))
    # Esc leaves: the run view is back and the URL no longer asks for presentation mode
    page.keyboard.press("Escape")
    assert page.locator("#presenter").count() == 0
    assert "present=1" not in page.url
    assert page.locator("#present-button").is_visible()
    assert errors == []
    page.close()


def test_present_follows_a_live_run(browser, server, tmp_path) -> None:
    run = server.create({"name": "live-present"})
    page, errors = open_page(browser, server, run["id"], (1280, 720))
    page.wait_for_selector("#presenter")
    # while the run goes, the presenter says so ("live"); the run is seconds from its end
    page.wait_for_function("document.querySelector('#present-where .pr-live') !== null")
    server.wait_status(run["id"], ("completed", "failed", "stopped"))
    final = server.run(run["id"])
    assert final["status"] == "completed"
    # the presenter caught up with the run's last step by itself (no reload, no click)
    page.wait_for_function(
        f"document.querySelector('#present-step').textContent === 'Step {final['step']}'"
    )
    page.wait_for_selector("#presenter .pr-probe canvas")
    page.screenshot(path=str(shots_dir(tmp_path) / "present-live-end.png"))
    assert errors == []
    page.close()
