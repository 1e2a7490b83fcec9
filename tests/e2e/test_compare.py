"""The compare view, the leaderboard and sweeps in Chromium, on real tiny runs.

Three tiny runs: two schedules on seed 0 and the first schedule on seed 1 (a seed group
with the first run). Ticked in the runs list, compared, the shared slider moved, the seed
bands toggled; the compare URL opened fresh shows the same; a sweep started from the form
fills its page.
"""

from __future__ import annotations

import time
from typing import Any

import pytest
from playwright.sync_api import expect

TINY_RECOVERY = [{"kind": "recovery", "steps": 6, "lr": 0.01, "batch_size": 16}]

pytestmark = pytest.mark.browser


def _create(server: Any, body: dict[str, Any]) -> str:
    r = server.http.post("/api/runs", params={"preset": "tiny"}, json=body)
    assert r.status_code == 201, r.text
    return r.json()["id"]


@pytest.fixture(scope="module")
def three_runs(server: Any) -> list[str]:
    ids = [
        _create(server, {"name": "two phases s0", "seed": 0}),
        _create(server, {"name": "recovery only", "seed": 0, "schedule": TINY_RECOVERY}),
        _create(server, {"name": "two phases s1", "seed": 1}),
    ]
    for run_id in ids:
        assert server.wait_status(run_id, ("completed",), timeout=300)["status"] == "completed"
    return ids


def _traces(page: Any, chart: str) -> int:
    return int(page.evaluate(f"document.querySelector('#cv-chart-{chart}').data.length"))


def _heat_state(page: Any) -> dict[str, str]:
    return page.evaluate(
        """() => Object.fromEntries([...document.querySelectorAll('#compare-heat tbody tr')]
              .map((tr) => [tr.dataset.run, tr.dataset.step + '/' + tr.dataset.frame + '/' +
                 tr.querySelector('td[data-col="now"] canvas').toDataURL().length]))"""
    )


def _wait_compare(page: Any, n: int) -> None:
    page.wait_for_function(
        "() => { const w = window.unlearnscope.view; const v = w && (w.compare || w);"
        " return v && v.runs && v.runs.length === "
        f"{n} && v.runs.every((r) => r.model.finished) && "
        "performance.getEntriesByName('compare:all-drawn').length > 0; }"
    )
    page.wait_for_function(
        "document.querySelectorAll('#compare-heat tbody tr:not([data-frame=\"-1\"])').length"
        f" === {n}"
    )


def test_compare_three_runs_slider_heatmaps_and_seed_bands(
    server: Any, page: Any, three_runs: list[str]
) -> None:
    page.goto(f"{server.url}/#/")
    for run_id in three_runs:
        page.check(f'#run-list li[data-id="{run_id}"] input.compare-tick')
    expect(page.locator("#compare-selected")).to_have_text("Compare 3 runs")
    page.click("#compare-selected")
    page.wait_for_url(f"**/#/compare/{','.join(three_runs)}")
    _wait_compare(page, 3)

    # The legend names what differs; the diff table lists exactly those settings
    legend = page.inner_text("#compare-legend")
    assert "two phases s0" in legend and "seed=1" in legend and "schedule: recovery 6" in legend
    diff_rows = page.eval_on_selector_all(
        "#compare-diff tbody th", "els => els.map(e => e.textContent)"
    )
    assert "seed" in diff_rows and "schedule" in diff_rows  # schedule fields: one row
    assert "recovery 6" in page.inner_text("#compare-diff")

    # The slider moves every run: the heatmap table shows an earlier frame
    last = _heat_state(page)
    assert sorted(v.split("/")[0] for v in last.values()) == ["6", "8", "8"], last
    page.click('.cv-modes button[data-mode="step"]')
    page.eval_on_selector(
        "#compare-slider", "s => { s.value = '1'; s.dispatchEvent(new Event('input')); }"
    )
    page.wait_for_function(
        "document.querySelector('#compare-step-label').dataset.steps === '1,1,1'"
    )
    page.wait_for_function(
        "[...document.querySelectorAll('#compare-heat tbody tr')]"
        ".every((tr) => tr.dataset.step === '1')"
    )
    # the earlier frames' heatmaps are fetched on demand: wait until every row's canvas shows
    # its own frame's heatmap (drawn, not the image alone)
    drawn = """() => [...document.querySelectorAll('#compare-heat tbody tr')].map((tr) => {
        const c = tr.querySelector('td[data-col="now"] canvas');
        return [tr.dataset.frame, c.dataset.frame, c.dataset.heat];
    })"""
    try:
        page.wait_for_function(
            f"({drawn})().every(([want, frame, heat]) => frame === want && heat === '1')",
            timeout=30_000,
        )
    except Exception as err:  # the frames and what each canvas shows, for the reader
        raise AssertionError(f"heatmaps not drawn: {page.evaluate(drawn)}") from err
    early = _heat_state(page)
    assert early != last
    for run_id in three_runs:
        step, frame, _ = early[run_id].split("/")
        assert step == "1" and int(frame) <= 1
        # (the canvas itself may look the same: a tiny model's maps can agree at both steps)
    assert "At the slider: step 1" in page.inner_text("#compare-at-step >> xpath=../..")

    # Seed bands: runs 1 and 3 differ only in seed -> one mean line with a band
    assert "two phases s0, two phases s1" in page.inner_text("#seed-groups")
    assert _traces(page, "asr") == 1 + 3  # "recovery only" + band (min, max, mean)
    page.check("#seed-singles")
    page.wait_for_function("document.querySelector('#cv-chart-asr').data.length === 6")
    page.uncheck("#seed-bands")
    page.wait_for_function("document.querySelector('#cv-chart-asr').data.length === 3")

    # x-axis: progress in percent
    page.click('.cv-modes button[data-mode="progress"]')
    page.wait_for_function(
        "document.querySelector('#cv-chart-asr').layout.xaxis.title.text === '% of the run'"
    )

    # Sorting the headline table by DER and by steps
    page.click("#compare-headline thead th[aria-sort] ~ th button >> text='Steps'")
    page.wait_for_function(
        "document.querySelector('#compare-headline tbody tr').dataset.run === "
        f"'{three_runs[1]}'"  # 6 steps < 8 steps
    )


def test_the_compare_url_opened_fresh_shows_the_same(
    server: Any, browser: Any, three_runs: list[str]
) -> None:
    texts = []
    for _ in range(2):
        context = browser.new_context(viewport={"width": 1280, "height": 800})
        pg = context.new_page()
        errors: list[str] = []
        pg.on("pageerror", lambda e, errors=errors: errors.append(str(e)))
        pg.goto(f"{server.url}/#/compare/{','.join(three_runs)}")
        _wait_compare(pg, 3)
        texts.append(
            (
                pg.inner_text("#compare-legend"),
                pg.inner_text("#compare-diff"),
                pg.inner_text("#compare-headline"),
                _heat_state(pg),
            )
        )
        context.close()
        assert not errors
    assert texts[0] == texts[1]


def test_leaderboard_ranks_and_links_to_compare(
    server: Any, page: Any, three_runs: list[str]
) -> None:
    page.goto(f"{server.url}/#/leaderboard")
    page.wait_for_selector("#leaderboard tbody tr")
    options = page.eval_on_selector_all(
        "#leaderboard-model option", "os => os.map(o => o.textContent)"
    )
    assert any("shapes · small_cnn w8 · badnets" in o and "seed 0" in o for o in options)
    page.select_option(
        "#leaderboard-model", index=next(i for i, o in enumerate(options) if "seed 0" in o)
    )
    page.wait_for_function("document.querySelectorAll('#leaderboard tbody tr').length === 2")
    ders = page.eval_on_selector_all(
        "#leaderboard tbody tr td.num", "ts => ts.map(t => Number(t.textContent))"
    )
    assert ders == sorted(ders, reverse=True)
    page.click("#compare-top")
    page.wait_for_url("**/#/compare/*")
    _wait_compare(page, 2)


def test_a_sweep_from_the_form_fills_its_page(server: Any, page: Any) -> None:
    page.goto(f"{server.url}/#/new?preset=tiny")
    page.wait_for_selector("#section-sweep")
    page.click("#section-sweep summary")
    row = page.locator(".sweep-row").first
    row.locator("select").select_option("schedule.0.steps")
    row.locator("input").fill("0, 2")
    page.fill("#sweep-name", "steps sweep")
    page.click("#start-sweep")
    page.wait_for_selector("#sweep-error:not([hidden])")
    error = page.inner_text("#sweep-error")  # 0 steps is refused, naming the cell
    assert "cell 1 (schedule.0.steps=0)" in error and "schedule.0.steps" in error
    row.locator("input").fill("1, 2")
    assert page.inner_text("#sweep-count") == "2 runs"
    page.click("#start-sweep")
    page.wait_for_url("**/#/sweep/*")
    page.wait_for_selector("#sweep-runs tbody tr")
    assert page.locator("#sweep-runs tbody tr").count() == 2
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        states = page.eval_on_selector_all(
            "#sweep-runs tbody tr", "rs => rs.map(r => r.dataset.status)"
        )
        if states == ["completed", "completed"]:
            break
        time.sleep(0.5)
    assert states == ["completed", "completed"]
    assert "2 of 2 runs ended" in page.inner_text("#sweep-summary")
    _wait_compare(page, 2)
    # The legend's state badges followed the runs (they were queued when the view opened).
    expect(page.locator("#compare-legend .cv-status")).to_have_text(["Completed", "Completed"])
    diff = page.inner_text("#compare-diff")
    # one row per differing phase setting (comparison.diff_rows): the swept ascent steps
    assert "ascent steps\t1\t2" in diff and "recovery" not in diff
