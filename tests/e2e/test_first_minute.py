"""A first minute for a viewer who has never heard of backdoors (issue 26), in Chromium at
1440x900 against a real server: the welcome page says in plain words what a backdoor is,
with one picture of the trigger; the run page shows the trigger itself, large, next to a
triggered image, and the verdict and the backdoor-fires count without scrolling; the
header's numbers are those of the model the verdict judges (the defended one), with what
the closing retuning attack did apart.

The run is tiny, real and finished before the page opens (replayed from the history).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.browser

expect: Any = pytest.importorskip("playwright.sync_api").expect

VIEWPORT = {"width": 1440, "height": 900}
TIMEOUT = 90_000  # ms


@pytest.fixture(scope="module")
def attacked_run(server: Any) -> dict[str, Any]:
    """Ascent, recovery, then the retuning attack (relearn) on the defended model."""
    body = {
        "name": "e2e first minute",
        "schedule": [
            {"kind": "ascent", "steps": 6, "lr": 0.05, "batch_size": 16},
            {"kind": "recovery", "steps": 4, "lr": 0.01, "batch_size": 16},
            {"kind": "relearn", "steps": 4, "lr": 0.05, "batch_size": 16},
        ],
    }
    r = server.http.post("/api/runs", params={"preset": "tiny"}, json=body)
    assert r.status_code == 201, r.text
    run_id = r.json()["id"]
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        run = server.http.get(f"/api/runs/{run_id}").json()
        if run["status"] in ("completed", "failed", "stopped"):
            assert run["status"] == "completed", run
            return dict(run)
        time.sleep(0.5)
    raise AssertionError(f"run {run_id} did not finish")


@pytest.fixture
def big_page(browser: Any) -> Any:
    context = browser.new_context(viewport=VIEWPORT)
    pg = context.new_page()
    pg.set_default_timeout(60_000)
    errors: list[str] = []
    pg.on("pageerror", lambda err: errors.append(str(err)))
    try:
        yield pg
    finally:
        context.close()
    assert not errors, f"JavaScript errors on the page: {errors}"


def in_viewport(locator: Any) -> None:
    box = locator.bounding_box()
    assert box is not None, "not laid out"
    assert box["y"] >= 0 and box["y"] + box["height"] <= VIEWPORT["height"], box
    assert box["x"] >= 0 and box["x"] + box["width"] <= VIEWPORT["width"], box


def loaded(img: Any) -> bool:
    return bool(img.evaluate("i => i.complete && i.naturalWidth > 0"))


def test_the_welcome_page_says_what_a_backdoor_is_with_a_picture(
    server: Any, big_page: Any, attacked_run: dict[str, Any], tmp_path: Path
) -> None:
    page = big_page
    page.goto(f"{server.url}/#/")
    words = page.locator("#plain-words")
    expect(words).to_contain_text("A backdoor is a hidden rule planted in a model")
    expect(words).to_contain_text("What you will watch")
    in_viewport(words.locator("p.lead").first)
    # the plain words come before the technical ones
    tech = page.locator(".tech-note")
    assert words.bounding_box()["y"] < tech.bounding_box()["y"]
    picture = page.locator("#welcome-picture")
    expect(picture).to_be_visible(timeout=TIMEOUT)
    imgs = picture.locator("img")
    assert imgs.count() == 2
    page.wait_for_function(
        "() => [...document.querySelectorAll('#welcome-picture img')]"
        ".every(i => i.complete && i.naturalWidth > 0)"
    )
    expect(picture).to_contain_text("the same picture with the trigger")
    page.screenshot(path=str(tmp_path / "welcome-1440.png"))


def test_the_run_page_shows_trigger_verdict_and_fires_count_above_the_fold(
    server: Any, big_page: Any, attacked_run: dict[str, Any], tmp_path: Path
) -> None:
    page = big_page
    run = attacked_run
    page.goto(f"{server.url}/#/run/{run['id']}")
    expect(page.locator("#connection")).to_have_text("Recorded run", timeout=TIMEOUT)
    verdict = page.locator("#run-verdict")
    expect(verdict).to_have_text(f"{run['verdict']['icon']} {run['verdict']['sentence']}")
    fires = page.locator("#fires-count")
    expect(fires).to_contain_text("triggered probes before unlearning")
    # the trigger itself, large, next to the triggered image, said in one sentence
    box = server.http.get(f"/api/runs/{run['id']}/frames", params={"step": 0}).json()
    x0, y0, x1, y1 = box["trigger_box"]
    caption = page.locator("#trigger-caption")
    expect(caption).to_contain_text(f"This {x1 - x0}×{y1 - y0} pixel patch is the trigger")
    trigger = page.locator("#trigger-image")
    triggered = page.locator("#triggered-image")
    expect(trigger).to_be_visible()
    assert loaded(trigger) and loaded(triggered)
    assert trigger.bounding_box()["width"] >= 100
    for part in (verdict, fires, caption, trigger, triggered):
        in_viewport(part)
    page.screenshot(path=str(tmp_path / "run-1440.png"))


def test_the_header_numbers_are_the_defended_model_the_verdict_judges(
    server: Any, big_page: Any, attacked_run: dict[str, Any]
) -> None:
    page = big_page
    run = attacked_run
    finished = server.http.get(
        f"/api/runs/{run['id']}/events", params={"type": "run_finished"}
    ).json()["events"][-1]
    page.goto(f"{server.url}/#/run/{run['id']}")
    expect(page.locator("#connection")).to_have_text("Recorded run", timeout=TIMEOUT)
    asr = page.locator("#kpi-asr")
    # the verdict's ASR after (the defended model), not the re-tuned model's
    expect(asr.locator(".kpi-now")).to_have_text(f"{finished['after']['asr']:.1f}%")
    expect(asr.locator(".kpi-where")).to_contain_text("after the defence")
    expect(asr.locator(".kpi-attack")).to_have_text(
        f"after re-tuning: {finished['retuned']['asr']:.1f}%"
    )
    expect(page.locator("#kpi-ca .kpi-now")).to_have_text(f"{finished['after']['ca']:.1f}%")
    # the fires count names the model its "now" is
    expect(page.locator("#fires-count")).to_contain_text("(after the retuning attack)")
    # and, before it, the defended model's count: the line tells before, defended, attacked
    expect(page.locator("#fires-count")).to_contain_text("(the defence's last heatmaps) → ")
    defended = page.locator("#fires-count").get_attribute("data-defended")
    assert defended is not None and defended.isdigit()
