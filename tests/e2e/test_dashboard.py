"""The dashboard in a real Chromium against a real server: start a run from the form,
watch it live, scrub, inspect, edit the schedule, pause/resume, survive a dropped
connection, stop, reload, and see a bad form value refused next to its field.

The tests share one long tiny-preset run (started from the form by the first test) and go
through it in order; each also works alone (it then starts the run through the API).
"""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.browser

expect: Any = pytest.importorskip("playwright.sync_api").expect

ASCENT_STEPS = 30
RECOVERY_STEPS = 20_000  # longer than the tests need; the stop test ends it
TIMEOUT = 90_000  # ms: the longest any condition is waited for (a cold model cache)

RUN_BODY = {
    "name": "e2e main",
    "schedule": [
        {"kind": "ascent", "steps": ASCENT_STEPS, "lr": 0.01, "batch_size": 16, "ewc_lambda": 10},
        {"kind": "recovery", "steps": RECOVERY_STEPS, "lr": 0.01, "batch_size": 16},
    ],
}


@pytest.fixture(scope="module")
def shared() -> dict[str, Any]:
    return {}


@pytest.fixture
def main_run(server: Any, shared: dict[str, Any]) -> str:
    """The shared run's id; started through the API when the form test did not run."""
    if "run" not in shared:
        r = server.http.post("/api/runs", params={"preset": "tiny"}, json=RUN_BODY)
        assert r.status_code == 201, r.text
        shared["run"] = r.json()["id"]
    return shared["run"]


def open_run(page: Any, server: Any, run_id: str, connection: str = "Live") -> None:
    """Show the run (a page already on it stays, with its history loaded)."""
    if not page.url.endswith(f"#/run/{run_id}"):
        page.goto(f"{server.url}/#/run/{run_id}")
    expect(page.locator("#connection")).to_have_text(re.compile(connection), timeout=TIMEOUT)


def wait_running(page: Any) -> None:
    expect(page.locator("#run-status")).to_have_text("Running", timeout=TIMEOUT)


def shown_step(page: Any) -> int:
    return int(page.locator("#run-step").inner_text().split("/")[0].split()[0])


def wait_step_above(page: Any, step: int) -> int:
    page.wait_for_function(
        "s => parseInt(document.querySelector('#run-step').textContent) > s",
        arg=step,
        timeout=TIMEOUT,
    )
    return shown_step(page)


def chart_points(page: Any, chart: str) -> int:
    """Points plotted in one Plotly chart (all traces, gaps not counted)."""
    return page.evaluate(
        """id => document.querySelector('#chart-' + id).data
              .reduce((n, t) => n + t.y.filter(v => v !== null).length, 0)""",
        chart,
    )


def grid_images(page: Any) -> tuple[int, list[str]]:
    """(step of the frame shown, the grid's images), read together."""
    step, images = page.evaluate(
        """[Number(document.querySelector('.grid-card').dataset.step),
            [...document.querySelectorAll(".probe .heat[data-col='now'] canvas")]
              .map(c => c.toDataURL())]"""
    )
    return step, images


def test_start_a_run_from_the_form(server: Any, run_page: Any, shared: dict[str, Any]) -> None:
    page = run_page
    page.goto(f"{server.url}/#/new")
    page.select_option("#preset", "tiny")
    expect(page.locator("#f-name")).to_have_value("tiny")
    page.fill("#f-name", "e2e main")
    page.fill("#form-phase-0-steps", str(ASCENT_STEPS))
    page.fill("#form-phase-1-steps", str(RECOVERY_STEPS))
    page.click("#start-run")
    page.wait_for_url(re.compile(r"#/run/\w+"))
    run_id = page.url.split("#/run/")[1]
    shared["run"] = run_id
    expect(page.locator(".run-name")).to_have_text("e2e main")
    expect(page.locator(f"#run-list [data-id='{run_id}']")).to_be_visible()
    wait_running(page)
    run = server.run(run_id)
    assert run["config"]["schedule"][1]["steps"] == RECOVERY_STEPS
    assert run["config"]["data"]["train_size"] == 600  # the tiny preset's value
    expect(page.locator("#run-device")).to_have_text("cpu")


def test_charts_gain_points_and_heatmaps_change(server: Any, run_page: Any, main_run: str) -> None:
    page = run_page
    open_run(page, server, main_run)
    wait_running(page)
    page.wait_for_function("document.querySelector('#chart-loss').data?.[0]?.x.length >= 2")
    before = {c: chart_points(page, c) for c in ("quality", "tar", "loss")}
    wait_step_above(page, shown_step(page) + 2)
    # Every chart gains points; measurements come from the monitor, a little after their
    # step, so each chart is waited for on its own.
    for chart, points in before.items():
        page.wait_for_function(
            """([id, n]) => document.querySelector('#chart-' + id).data
                  .reduce((a, t) => a + t.y.filter(v => v !== null).length, 0) > n""",
            arg=[chart, points],
            timeout=TIMEOUT,
        )
    # Heatmaps: the grid follows the newest frame, and its images change as the model does.
    grid_step, images = grid_images(page)
    assert len(images) == 8  # 4 probe samples, clean and triggered
    deadline = time.monotonic() + 60
    while (now := grid_images(page))[1] == images:
        assert time.monotonic() < deadline, "no heatmap changed in 60 s"
        page.wait_for_timeout(300)
    assert now[0] > grid_step
    expect(page.locator(".probe .heat-caption").first).to_contain_text("%")


def test_the_runs_list_follows_the_run_from_any_page(
    server: Any, run_page: Any, main_run: str
) -> None:
    page = run_page
    page.goto(f"{server.url}/#/new")  # no run view open: only the run-list channel
    item = page.locator(f"#run-list [data-id='{main_run}'] .run-link")
    expect(item).to_contain_text(re.compile(r"phase \d · (ascent|recovery)"), timeout=TIMEOUT)
    found = re.search(r"step (\d+) /", item.inner_text())
    assert found is not None
    step = int(found.group(1))
    page.wait_for_function(
        """([id, s]) => {
             const text = document.querySelector(`#run-list [data-id='${id}']`).textContent;
             return Number(/step (\\d+) \\//.exec(text)[1]) > s; }""",
        arg=[main_run, step],
        timeout=TIMEOUT,
    )
    expect(page.locator(f"#run-list [data-id='{main_run}'] .badge")).to_have_text("Running")


def test_scrub_the_slider_back_and_forth(server: Any, run_page: Any, main_run: str) -> None:
    page = run_page
    open_run(page, server, main_run)
    wait_step_above(page, 4)
    slider = page.locator("#step-slider")
    slider.focus()
    page.keyboard.press("Home")
    expect(page.locator("#live-toggle")).to_have_attribute("aria-pressed", "false")
    expect(page.locator("#step-label")).to_have_attribute("data-step", "0")
    expect(page.locator(".grid-card")).to_have_attribute("data-step", "0")
    cursor = (
        "document.querySelector('#chart-quality').layout.shapes.find(s => s.name === 'cursor')?.x0"
    )
    page.wait_for_function(f"{cursor} === 0")
    for _ in range(3):
        page.keyboard.press("ArrowRight")
    expect(page.locator("#step-label")).to_have_attribute("data-step", "3")
    expect(page.locator(".grid-card")).to_have_attribute("data-step", "3")
    page.wait_for_function(f"{cursor} === 3")
    page.keyboard.press("ArrowLeft")
    expect(page.locator(".grid-card")).to_have_attribute("data-step", "2")
    expect(page.locator("#kpi-asr")).to_contain_text("step 2")
    # While scrubbing, the run goes on underneath; Live follows it again.
    page.click("#live-toggle")
    expect(page.locator("#live-toggle")).to_have_attribute("aria-pressed", "true")
    page.wait_for_function(f"{cursor} === undefined")
    page.wait_for_function(
        "Number(document.querySelector('.grid-card').dataset.step) > 3", timeout=TIMEOUT
    )


def test_open_the_sample_inspector(server: Any, run_page: Any, main_run: str) -> None:
    page = run_page
    open_run(page, server, main_run)
    wait_running(page)
    probe = page.locator(".heat[data-variant='triggered']").first
    index = probe.get_attribute("data-index")
    probe.click()  # enlarges the probe; from there on to the inspector
    page.click("#zoom-inspect")
    drawer = page.locator("#inspector")
    expect(drawer).to_be_visible()
    summary = drawer.locator(".inspect-summary")
    expect(summary).to_contain_text(f"Test sample #{index}", timeout=TIMEOUT)
    expect(drawer.locator(".prob-bars")).to_have_count(2)
    expect(drawer.locator(".prob-bars").first.locator("li")).to_have_count(10)
    expect(drawer.locator("figure[data-choice] canvas")).to_have_count(6)  # 2 variants x 3 classes
    expect(drawer.locator(".tar-text")).to_contain_text("TAR")
    page.wait_for_function("document.querySelector('#tar-history')?.data?.[0]?.x.length > 0")
    # Any test index can be typed; one past the test split is refused next to the input.
    page.fill("#inspect-index", "100000")
    page.click(".inspect-form button[type=submit]")
    expect(page.locator("#inspect-error")).to_contain_text("test split has 200 images")
    page.fill("#inspect-index", "3")
    page.click(".inspect-form button[type=submit]")
    expect(summary).to_contain_text("Test sample #3", timeout=TIMEOUT)
    page.keyboard.press("Escape")
    expect(drawer).to_be_hidden()


def test_edit_the_schedule_while_it_runs(server: Any, run_page: Any, main_run: str) -> None:
    page = run_page
    open_run(page, server, main_run)
    wait_running(page)
    total = int(page.locator("#run-step").inner_text().split("/")[1])
    rows = page.locator("#schedule tbody tr")
    expect(rows).to_have_count(2)
    page.click("#schedule >> text=+ Add phase")
    expect(rows).to_have_count(3)
    page.fill("#sched-2-steps", "25")
    page.select_option("#sched-2-kind", "ascent")
    page.fill("#sched-2-lr", "0.002")
    page.click("#schedule-apply")
    result = page.locator(".schedule-result")
    expect(result).to_contain_text("Applied at step", timeout=TIMEOUT)
    found = re.search(r"Applied at step (\d+)", result.inner_text())
    assert found is not None
    step = int(found.group(1))
    expect(page.locator("#run-step")).to_contain_text(f"/ {total + 25}", timeout=TIMEOUT)
    expect(rows.nth(2).locator("td[data-key='kind'] select")).to_have_value("ascent")
    expect(rows.nth(2).locator("td.state")).to_have_text("planned")
    # The edit marker sits at the step where the edit took effect, in every chart.
    page.wait_for_function(
        """s => ['quality', 'tar', 'loss'].every(id => document.querySelector('#chart-' + id)
              .layout.annotations.some(a => a.text.includes('edit') && a.x === s))""",
        arg=step,
    )
    assert server.run(main_run)["schedule"][2]["lr"] == 0.002
    # A value the schema refuses is caught next to its cell, before anything is sent.
    page.fill("#sched-2-lr", "-1")
    expect(page.locator("#sched-2-lr-error")).to_contain_text("greater than 0")


def test_pause_stops_the_steps_and_resume_goes_on(
    server: Any, run_page: Any, main_run: str
) -> None:
    page = run_page
    open_run(page, server, main_run)
    wait_running(page)
    page.click("#pause-button")
    expect(page.locator("#run-status")).to_have_text("Paused", timeout=TIMEOUT)
    expect(page.locator("#pause-button")).to_have_text("Resume")
    paused_at = shown_step(page)
    page.wait_for_timeout(2500)  # a running tiny run takes several steps in this time
    assert shown_step(page) == paused_at
    assert server.run(main_run)["step"] == paused_at
    page.click("#pause-button")
    wait_running(page)
    wait_step_above(page, paused_at)


def test_reconnects_after_a_dropped_connection(server: Any, run_page: Any, main_run: str) -> None:
    page = run_page
    open_run(page, server, main_run)
    wait_running(page)
    page.network.drop()
    expect(page.locator("#connection")).to_contain_text("Reconnecting")
    expect(page.locator(".conn-banner")).to_contain_text("not live")
    expect(page.locator(".run-view")).to_have_class(re.compile("stale"))
    expect(page.locator("#run-status")).to_contain_text("last known")
    stale_step = shown_step(page)
    page.wait_for_timeout(1500)  # the run moves on while the page cannot see it
    page.network.restore()
    expect(page.locator("#connection")).to_have_text("Live", timeout=TIMEOUT)
    expect(page.locator(".conn-banner")).to_be_hidden()
    wait_step_above(page, stale_step)
    # The gap was filled from the last seq: every step once, none missing.
    steps = page.evaluate("window.unlearnscope.view.model.steps.map(s => s.step)")
    assert steps == list(range(1, len(steps) + 1))


def test_stop_the_run(server: Any, run_page: Any, main_run: str) -> None:
    page = run_page
    open_run(page, server, main_run)
    expect(page.locator("#run-status")).to_have_text(re.compile("Running|Paused"), timeout=TIMEOUT)
    stop = page.locator("#stop-button")
    stop.click()
    expect(stop).to_have_text("Confirm stop")
    # The confirmation lasts 4 s; on a loaded machine the second click can come after it
    # ran out and arm it again instead: then confirm once more (a real user sees the same).
    # Once confirmed the button stays "Confirm stop" until the stop arrives, then hides:
    # click again only when it is visible and re-armed, never a button that is going away.
    stop.click()
    for _ in range(3):
        try:
            expect(page.locator("#run-status")).to_have_text("Stopped", timeout=8000)
            break
        except AssertionError:
            if stop.is_visible() and stop.inner_text() != "Confirm stop":
                stop.click()
                stop.click()
    expect(page.locator("#run-status")).to_have_text("Stopped", timeout=TIMEOUT)
    # The top bar's count follows the run list, not the 10 s health poll.
    expect(page.locator("#server")).to_contain_text(" 0/", timeout=3000)
    expect(page.locator("#pause-button")).to_be_hidden()
    expect(page.locator("#stop-button")).to_be_hidden()
    expect(page.locator("#connection")).to_have_text("Recorded run")
    expect(page.locator(".schedule-note")).to_contain_text("ended")
    assert server.run(main_run)["status"] == "stopped"


def test_reload_shows_the_whole_history(server: Any, run_page: Any, main_run: str) -> None:
    page = run_page
    if server.run(main_run)["status"] not in ("stopped", "completed"):  # run alone
        open_run(page, server, main_run)
        wait_step_above(page, 5)
        assert server.http.post(f"/api/runs/{main_run}/stop").status_code == 200
    open_run(page, server, main_run, "Recorded run")
    page.reload()
    expect(page.locator("#connection")).to_have_text("Recorded run", timeout=TIMEOUT)
    steps = server.run(main_run)["step"]
    assert steps > 0
    expect(page.locator("#step-label")).to_have_attribute("data-step", str(steps))
    # One CE trace per registered phase kind, then the EWC penalty: find it by its name.
    ewc_points = (
        "document.querySelector('#chart-loss').data"
        ".find(t => t.name.startsWith('EWC penalty')).x.length"
    )
    try:
        page.wait_for_function(f"n => {ewc_points} === n", arg=steps)
    except Exception as err:
        got = page.evaluate(f"[{ewc_points}, window.unlearnscope.view.model.steps.length]")
        raise AssertionError(
            f"the chart has {got[0]} points, the model {got[1]} steps, the run {steps}"
        ) from err
    # Downloads: a chart as PNG (Plotly.downloadImage) and the run's export zip.
    with page.expect_download() as png:
        page.click("#chart-quality >> xpath=ancestor::section >> button:has-text('PNG')")
    assert png.value.suggested_filename.endswith(".png")
    assert Path(png.value.path()).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    with page.expect_download() as zipped:
        page.click("#export-link")
    assert Path(zipped.value.path()).read_bytes()[:2] == b"PK"
    # Replay: scrub to the start and play it back.
    page.locator("#step-slider").focus()
    page.keyboard.press("Home")
    expect(page.locator(".grid-card")).to_have_attribute("data-step", "0")
    page.keyboard.press("End")
    expect(page.locator("#step-label")).to_have_attribute("data-step", str(steps))
    page.click("#replay")
    expect(page.locator("#replay")).to_contain_text("Pause replay")
    page.wait_for_function(
        """n => { const s = Number(document.querySelector('#step-label').dataset.step);
                  return s > 0 && s < n; }""",
        arg=steps,
    )
    page.click("#replay")
    expect(page.locator("#replay")).to_contain_text("Replay")


def test_a_bad_value_is_shown_next_to_its_field(server: Any, run_page: Any, tmp_path: Path) -> None:
    page = run_page
    runs_before = len(server.http.get("/api/runs").json())
    page.goto(f"{server.url}/#/new?preset=tiny")
    # Checked in the page: a value the schema forbids never leaves it.
    page.fill("#f-data-image_size", "abc")
    expect(page.locator("#f-data-image_size-error")).to_have_text("must be a number")
    page.fill("#f-data-image_size", "32")
    expect(page.locator("#f-data-image_size-error")).to_be_empty()
    # Checked by the server (across fields): its 422 lands next to the field it names.
    page.fill("#f-attack-target_class", "12")
    page.click("#start-run")
    error = page.locator("#f-attack-target_class-error")
    expect(error).to_contain_text("not a class of 'shapes'")
    expect(page.locator("#f-attack-target_class")).to_have_attribute("aria-invalid", "true")
    expect(page.locator(".form-banner")).to_contain_text("refused")
    page.screenshot(path=str(tmp_path / "refused-by-the-server.png"))
    assert len(server.http.get("/api/runs").json()) == runs_before
    page.fill("#f-attack-target_class", "1")
    page.fill("#f-name", "e2e second")
    page.fill("#form-phase-0-steps", "1")
    page.fill("#form-phase-1-steps", "1")
    page.click("#start-run")
    page.wait_for_url(re.compile(r"#/run/\w+"))
    assert len(server.http.get("/api/runs").json()) == runs_before + 1
