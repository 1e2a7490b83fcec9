"""What a viewer reads off a run, in a real Chromium against a real server: heatmaps before
and after side by side with their difference, the backdoor-fires count, an early stop
said in words, the preparation's training curve, a refused form value brought into view,
and no sideways scrolling at 800 px.

Runs here are tiny and finished before the page opens (replayed from the history), so
nothing depends on timing.
"""

from __future__ import annotations

import re
import time
from typing import Any

import pytest

pytestmark = pytest.mark.browser

expect: Any = pytest.importorskip("playwright.sync_api").expect

TIMEOUT = 90_000  # ms
TRAIN_SEED = 424242  # a seed no other test uses: its backdoored model is trained, not cached


def start(server: Any, body: dict[str, Any]) -> str:
    r = server.http.post("/api/runs", params={"preset": "tiny"}, json=body)
    assert r.status_code == 201, r.text
    return r.json()["id"]


def finish(server: Any, run_id: str, limit: float = 240) -> dict[str, Any]:
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        run = server.http.get(f"/api/runs/{run_id}").json()
        if run["status"] in ("completed", "failed", "stopped"):
            assert run["status"] == "completed", run
            return run
        time.sleep(0.5)
    raise AssertionError(f"run {run_id} did not finish in {limit} s")


@pytest.fixture(scope="module")
def early_run(server: Any) -> str:
    """Ascent that must stop early (any ASR below 100%), then a short recovery."""
    run_id = start(
        server,
        {
            "name": "e2e early stop",
            "schedule": [
                {
                    "kind": "ascent",
                    "steps": 30,
                    "lr": 0.05,
                    "batch_size": 16,
                    "stop_asr_below": 100,
                },
                {"kind": "recovery", "steps": 6, "lr": 0.01, "batch_size": 16},
            ],
        },
    )
    finish(server, run_id)
    return run_id


def open_run(page: Any, server: Any, run_id: str) -> None:
    page.goto(f"{server.url}/#/run/{run_id}")
    expect(page.locator("#connection")).to_have_text("Recorded run", timeout=TIMEOUT)


def no_sideways_scroll(page: Any) -> None:
    width, inner = page.evaluate("[document.documentElement.scrollWidth, innerWidth]")
    assert width <= inner, f"the page scrolls sideways: {width} px wide in a {inner} px window"


def test_before_now_and_change_for_every_probe(server: Any, page: Any, early_run: str) -> None:
    page.set_viewport_size({"width": 1440, "height": 900})
    open_run(page, server, early_run)
    last = server.http.get(f"/api/runs/{early_run}/frames").json()["steps"][-1]
    assert last > 0
    probes = page.locator(".probe")
    expect(probes.first.locator(".heat[data-col='now'] canvas").first).to_have_attribute(
        "data-step", str(last), timeout=TIMEOUT
    )
    count = probes.count()
    assert count == 4  # the tiny preset's probe samples
    for p in range(count):
        card = probes.nth(p)
        for variant in ("triggered", "clean"):
            cells = {
                col: card.locator(f".heat[data-variant='{variant}'][data-col='{col}'] canvas")
                for col in ("before", "now", "change")
            }
            expect(cells["before"]).to_have_attribute("data-step", "0")
            expect(cells["now"]).to_have_attribute("data-step", str(last))
    # The change view is drawn from the two maps: where they differ it is coloured.
    changed = page.evaluate(
        """() => [...document.querySelectorAll(".heat[data-col='change'] canvas")].some(c => {
              const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
              for (let i = 0; i < d.length; i += 4) if (Math.abs(d[i] - d[i + 2]) > 40) return true;
              return false; })"""
    )
    assert changed, "no change view shows any colour: before and now look identical"
    expect(page.locator("#heat-legend")).to_contain_text("attention left")
    # Big enough to read at 1440 px: at least 160 px a heatmap.
    width = page.locator(".probe .heat[data-col='now'] canvas").first.bounding_box()["width"]
    assert width >= 160, f"heatmaps are {width:.0f} px wide at 1440 px"

    # The count of probes the backdoor fires on matches the recorded predictions.
    run = server.http.get(f"/api/runs/{early_run}").json()
    target = run["config"]["attack"]["target_class"]

    def fires(step: int) -> tuple[int, int]:
        frame = server.http.get(f"/api/runs/{early_run}/frames", params={"step": step}).json()
        eligible = [p for p in frame["probes"] if p["label"] != target]
        return sum(p["pred"][1] == target for p in eligible), len(eligible)

    (before, of), (now, _) = fires(0), fires(last)
    line = page.locator("#fires-count")
    expect(line).to_contain_text(f"{before}/{of} triggered probes before unlearning")
    expect(line).to_contain_text(f"{now}/{of} at step {last}")
    assert page.locator(".heat[data-col='now'] .flag").count() == now

    # A click enlarges the probe with its pixels visible, and leads on to the inspector.
    page.locator(".probe").first.locator(".heat[data-col='now']").first.click()
    zoom = page.locator("#heat-zoom")
    expect(zoom).to_be_visible()
    big = zoom.locator(".heat[data-col='now'] canvas").first
    assert big.bounding_box()["width"] >= 250
    assert big.evaluate("c => getComputedStyle(c).imageRendering") == "pixelated"
    page.click("#zoom-inspect")
    expect(zoom).to_be_hidden()
    expect(page.locator("#inspector")).to_be_visible(timeout=TIMEOUT)


def test_early_stop_is_said_in_words(server: Any, page: Any, early_run: str) -> None:
    url = f"/api/runs/{early_run}/events"
    events = server.http.get(url, params={"type": "phase_end"}).json()["events"]
    end = next(e for e in events if e["type"] == "phase_end" and e["phase_index"] == 0)
    assert end["reason"] == "early_stop", end
    open_run(page, server, early_run)
    state = page.locator("#schedule tr[data-phase='0'] td.state")
    expect(state).to_have_text(
        re.compile(rf"Stopped early at step {end['step']} \(monitor ASR [\d.]+% < 100%\)")
    )
    # The charts draw a moment after the events (dom.perFrame keeps them to a share of the
    # page's time): wait for the label rather than read it once.
    labels = "(document.querySelector('#chart-quality').layout.annotations || []).map(a => a.text)"
    try:
        page.wait_for_function(f"{labels}.some(t => t.includes('stopped early'))")
    except Exception as err:
        raise AssertionError(page.evaluate(labels)) from err
    # The plan shrinks by the steps the ascent did not take: 30 planned, `steps` taken.
    planned = end["steps"] + 6
    expect(page.locator("#run-step")).to_have_text(re.compile(rf"^{planned}\b"))
    expect(page.locator("#run-step")).not_to_contain_text("36")


def test_preparation_shows_the_training_curve_and_the_cache(server: Any, page: Any) -> None:
    body = {
        "seed": TRAIN_SEED,
        "training": {"epochs": 4, "batch_size": 32},  # 4 x 19 batches: 4 progress reports
        "schedule": [{"kind": "recovery", "steps": 2, "lr": 0.01, "batch_size": 16}],
    }
    trained = start(server, {**body, "name": "e2e trained"})
    finish(server, trained)
    cached = start(server, {**body, "name": "e2e cached"})
    finish(server, cached)

    open_run(page, server, trained)
    prep = page.locator("#prep")
    expect(prep).to_contain_text("backdoored model trained")
    prep.locator("summary").click()
    expect(prep.locator("[data-stage='attack_training']")).to_contain_text("epoch 4 of 4")
    points = prep.locator("polyline").first.get_attribute("points").split()
    assert len(points) >= 3, points
    expect(prep.locator("figcaption").first).to_contain_text("training accuracy")

    open_run(page, server, cached)
    expect(page.locator("#prep")).to_contain_text("loaded from cache")
    assert page.locator("#prep polyline").count() == 0


def test_a_refused_field_is_brought_into_view(server: Any, page: Any) -> None:
    page.set_viewport_size({"width": 800, "height": 600})
    page.goto(f"{server.url}/#/new?preset=tiny")
    page.fill("#f-attack-target_class", "12")
    page.evaluate("window.scrollTo(0, document.body.scrollHeight)")
    field = page.locator("#f-attack-target_class")
    clear_area = """el => { const r = el.getBoundingClientRect();
                  return [r.top, r.bottom,
                          document.querySelector('.topbar').getBoundingClientRect().bottom,
                          document.querySelector('.form-actions').getBoundingClientRect().top]; }"""
    top, bottom, bar, actions = field.evaluate(clear_area)
    assert bottom <= bar or top >= actions, "the field is in view before the refusal: no test"
    page.click("#start-run")
    error = page.locator("#f-attack-target_class-error")
    expect(error).to_contain_text("Target class 12 is not a class")
    expect(error).not_to_contain_text("attack.target_class")
    expect(error).to_contain_text("allowed")
    # In view and clear of the sticky top bar and the sticky Start bar.
    top, bottom, bar, actions = field.evaluate(clear_area)
    assert bar <= top and bottom <= actions, f"field at {top}-{bottom}, clear area {bar}-{actions}"
    expect(field).to_be_focused()


def test_help_opens_where_the_user_is(server: Any, page: Any) -> None:
    page.set_viewport_size({"width": 800, "height": 600})
    page.goto(f"{server.url}/#/new?preset=tiny")
    page.evaluate("window.scrollTo(0, document.body.scrollHeight)")
    page.click("#help-toggle")
    top = page.locator("#help-panel").evaluate("el => el.getBoundingClientRect().top")
    assert 0 <= top < 100, f"the help panel opened {top} px from the top of the window"


@pytest.mark.parametrize("where", ["form", "run"])
def test_no_sideways_scroll_at_800px(server: Any, page: Any, early_run: str, where: str) -> None:
    page.set_viewport_size({"width": 800, "height": 900})
    if where == "form":
        page.goto(f"{server.url}/#/new?preset=demo")
        expect(page.locator("#start-run")).to_be_visible()
        page.locator("#form-phase-0-steps").wait_for()
    else:
        open_run(page, server, early_run)
        expect(page.locator(".probe").first).to_be_visible()
    no_sideways_scroll(page)
