"""The verdict in Chromium: one judgement, shown the same in every view (issue 26).

Three finished runs of one backdoored model, written into the server's store with known
numbers (bench/synth.py: no training): one that removes the backdoor, one that leaves it
(ASR 99.8% -> 90.0%, the demo-anp case) and one whose model is broken (CA at chance, yet a
DER near 1). The run page, presentation mode, the run list, the compare view, the
leaderboard and the report must each say which is which, in words and colour; the form says
what each demo preset was measured to do.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from unlearnscope.bench.synth import SynthRun, store_synth_run
from unlearnscope.presets import OUTCOMES_FILE, preset_config

pytestmark = pytest.mark.browser

KEY = "verdict-model"
RUNS = {  # id: (before (ASR, CA), after (ASR, CA), outcome, tone, chip text)
    "vpass": ((99.0, 90.0), (2.0, 88.0), "removed", "good", "✓ Removed"),
    "vfail": ((99.8, 92.0), (90.0, 91.0), "not_removed", "bad", "✗ Not removed"),
    "vbroken": ((99.7, 90.0), (0.0, 10.0), "broken", "bad", "✗ Model broken"),
}


@pytest.fixture(scope="module")
def runs(server: Any) -> dict[str, Any]:
    store = server.service.store
    for run_id, (before, after, *_rest) in RUNS.items():
        config = preset_config("tiny", {"name": f"{run_id} run"})
        spec = SynthRun(steps=40, before=before, after=after, model_key=KEY, probes=2, size=8)
        store_synth_run(store, run_id, config, spec)
    return {r["id"]: r for r in server.http.get("/api/runs").json() if r["id"] in RUNS}


def test_the_api_rows_carry_the_verdict(server: Any, runs: dict[str, Any]) -> None:
    for run_id, (_b, _a, outcome, tone, _chip) in RUNS.items():
        v = runs[run_id]["verdict"]
        assert (v["outcome"], v["tone"], v["final"]) == (outcome, tone, True)
        assert v["passed"] is (outcome == "removed")
    assert runs["vfail"]["verdict"]["sentence"] == (
        "Not removed: ASR 99.8% → 90.0%; the bar is below 10.0%."
    )
    board = server.http.get("/api/leaderboard", params={"model_key": KEY}).json()
    by_id = {e["run_id"]: e for e in board["entries"]}
    # the broken model has the highest DER and still fails
    assert by_id["vbroken"]["der"] > by_id["vfail"]["der"]
    assert by_id["vbroken"]["verdict"] == runs["vbroken"]["verdict"]
    csv = server.http.get("/api/leaderboard", params={"model_key": KEY, "format": "csv"}).text
    assert "Model broken,False" in csv and "Removed,True" in csv


def test_run_page_and_presentation_mode_say_the_verdict(
    server: Any, page: Any, runs: dict[str, Any], tmp_path: Path
) -> None:
    for run_id, (_b, _a, outcome, tone, chip) in RUNS.items():
        page.goto(f"{server.url}/#/run/{run_id}")
        line = page.locator("#run-verdict")
        expect(line).to_have_text(f"{chip[0]} {runs[run_id]['verdict']['sentence']}")
        expect(line).to_have_attribute("data-outcome", outcome)
        expect(line).to_have_class(f"verdict-line verdict-{tone}")
        page.screenshot(path=str(tmp_path / f"run-{run_id}.png"))
    page.goto(f"{server.url}/#/run/vfail")
    expect(page.locator("#run-verdict")).to_contain_text("Not removed: ASR 99.8% → 90.0%")
    # the ASR number itself is not plain black: marked against the run's bar, in words
    expect(page.locator("#kpi-asr .kpi-delta")).to_have_text(" ✗ ≥ 10% bar")
    expect(page.locator("#kpi-asr")).to_have_class("kpi kpi-warn")
    page.click("#present-button")
    present = page.locator("#present-verdict")
    expect(present).to_contain_text("✗ Not removed: ASR 99.8% → 90.0%")
    expect(present).to_have_attribute("data-outcome", "not_removed")
    page.screenshot(path=str(tmp_path / "present-vfail.png"))


def test_run_list_and_compare_show_each_verdict(
    server: Any, page: Any, runs: dict[str, Any], tmp_path: Path
) -> None:
    page.goto(f"{server.url}/#/")
    for run_id, (_b, _a, outcome, tone, chip) in RUNS.items():
        item = page.locator(f'#run-list li[data-id="{run_id}"] .verdict-chip')
        expect(item).to_have_text(chip)
        expect(item).to_have_class(f"verdict-chip verdict-{tone}")
        expect(item).to_have_attribute("title", runs[run_id]["verdict"]["sentence"])
        expect(item).to_have_attribute("data-outcome", outcome)
    page.goto(f"{server.url}/#/compare/vpass,vfail,vbroken")
    for run_id, (_b, _a, outcome, tone, chip) in RUNS.items():
        cell = page.locator(f'#compare-headline tr[data-run="{run_id}"] td[data-col="verdict"]')
        expect(cell).to_have_text(chip)
        expect(cell.locator(".verdict-chip")).to_have_attribute("data-outcome", outcome)
        expect(cell.locator(".verdict-chip")).to_have_class(f"verdict-chip verdict-{tone}")
    page.screenshot(path=str(tmp_path / "compare.png"), full_page=True)


def test_leaderboard_flags_the_runs_that_miss_the_bar(
    server: Any, page: Any, runs: dict[str, Any], tmp_path: Path
) -> None:
    page.goto(f"{server.url}/#/leaderboard?model={KEY}")
    expect(page.locator("#leaderboard-misses")).to_contain_text("2 of 3 runs miss the bar")
    for run_id, (_b, _a, _outcome, _tone, chip) in RUNS.items():
        row = page.locator(f'#leaderboard tr[data-run="{run_id}"]')
        expect(row.locator(".verdict-chip")).to_have_text(chip)
        flagged = "misses-bar" in (row.get_attribute("class") or "")
        assert flagged is (run_id != "vpass"), run_id
    # "Compare ticked runs" waits for two ticks
    button = page.locator("#compare-chosen")
    expect(button).to_be_disabled()
    page.check('#leaderboard tr[data-run="vpass"] input[type=checkbox]')
    expect(button).to_be_disabled()
    page.check('#leaderboard tr[data-run="vfail"] input[type=checkbox]')
    expect(button).to_be_enabled()
    expect(button).to_have_text("Compare 2 ticked runs")
    page.screenshot(path=str(tmp_path / "leaderboard.png"), full_page=True)
    button.click()
    page.wait_for_url("**/#/compare/**")
    assert set(page.url.split("#/compare/")[1].split(",")) == {"vpass", "vfail"}


def test_the_report_says_the_same_verdict_in_every_section(
    server: Any, page: Any, runs: dict[str, Any], tmp_path: Path
) -> None:
    for run_id, (_b, _a, outcome, tone, chip) in RUNS.items():
        html = server.http.get(f"/api/runs/{run_id}/report.html").text
        report = tmp_path / f"report-{run_id}.html"  # opened from disk, as users do
        report.write_text(html, encoding="utf-8")
        page.goto(report.as_uri())
        verdict = page.locator("#verdict")
        expect(verdict).to_have_attribute("data-outcome", outcome)
        expect(verdict).to_have_class(f"verdict verdict-{tone}")
        assert page.inner_text("#verdict").startswith(
            f"{chip[0]} {runs[run_id]['verdict']['sentence']}"
        )
        removed_said = "then the backdoor was removed" in html
        assert removed_said is (outcome == "removed"), run_id
        page.screenshot(path=str(tmp_path / f"report-{run_id}.png"))


def test_the_form_says_what_each_demo_preset_was_measured_to_do(
    server: Any, page: Any, tmp_path: Path
) -> None:
    measured = json.loads(OUTCOMES_FILE.read_text())
    assert measured["demo-anp"]["verdict"]["outcome"] == "not_removed"
    assert measured["demo"]["verdict"]["outcome"] == "removed"
    page.goto(f"{server.url}/#/new")
    page.select_option("#preset", "demo-anp")
    outcome = page.locator("#preset-outcome")
    expect(outcome).to_contain_text(
        "Measured: this preset shows a defence that does not remove the backdoor here."
    )
    expect(outcome.locator(".verdict-chip")).to_have_text("✗ Not removed")
    option = page.locator('#preset option[value="demo-anp"]')
    expect(option).to_have_text("demo-anp — ✗ Not removed")
    page.screenshot(path=str(tmp_path / "form-demo-anp.png"))
    page.select_option("#preset", "demo")
    expect(outcome).to_contain_text("Measured: this preset removes the backdoor here.")
    expect(outcome.locator(".verdict-chip")).to_have_text("✓ Removed")
    # a preset never measured says nothing
    page.select_option("#preset", "tiny")
    expect(outcome).to_have_text("")
