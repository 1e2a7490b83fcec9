"""Every view tells the same story of a run whose schedule was edited live (issue 26): the
edit's confirmation, the run page's header, the run list, the compare view (its Steps
column, the schedule each run followed, what differs) and the leaderboard show the same
step total as the report, the one the API computes (run.plan.total, ml/schedule.py run_plan)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.browser

expect: Any = pytest.importorskip("playwright.sync_api").expect

TIMEOUT = 90_000  # ms: a cold model cache trains the tiny backdoored model first
ASCENT = {"kind": "ascent", "steps": 4, "lr": 0.01, "batch_size": 16, "ewc_lambda": 10}
RECOVERY = {"kind": "recovery", "lr": 0.01, "batch_size": 16}
LONG = {"name": "story edited", "schedule": [ASCENT, {**RECOVERY, "steps": 20_000}]}
SHORT = {"name": "story plain", "schedule": [ASCENT, {**RECOVERY, "steps": 6}]}


def test_a_live_edit_shows_the_same_totals_everywhere(
    server: Any, page: Any, tmp_path: Path
) -> None:
    # one run at a time on the test server: the short one first (a cold cache trains the
    # backdoored model), then the one that is paused and edited
    plain = server.create(SHORT)["id"]
    server.wait_status(plain, ("completed",), timeout=600)
    edited = server.create(LONG)["id"]
    server.wait_step(edited, 6, timeout=600)  # in its recovery phase
    assert server.http.post(f"/api/runs/{edited}/pause").status_code == 200
    step = server.wait_status(edited, ("paused",))["step"]

    # The edit, from the run page: recovery ends 30 steps from here
    page.goto(f"{server.url}/#/run/{edited}")
    expect(page.locator("#run-status")).to_have_text("Paused", timeout=TIMEOUT)
    recovery = step - 4 + 30
    total = 4 + recovery
    page.fill("#sched-1-steps", str(recovery))
    page.click("#schedule-apply")
    result = page.locator(".schedule-result")
    expect(result).to_contain_text(f"{total} steps in total", timeout=TIMEOUT)

    run = server.run(edited)
    assert run["total_steps"] == run["plan"]["total"] == total
    assert run["plan"]["edited"] is True and run["plan"]["planned_total"] == 20_004

    # the header and the run list
    expect(page.locator("#run-step")).to_contain_text(f"/ {total}", timeout=TIMEOUT)
    item = page.locator(f"#run-list [data-id='{edited}'] .run-steps")
    expect(item).to_contain_text(f"step {step} / {total}")

    # the compare view: the Steps column, the schedule followed, what differs
    page.goto(f"{server.url}/#/compare/{edited},{plain}")
    steps_cell = page.locator(f"#compare-headline tr[data-run='{edited}'] td[data-col='steps']")
    expect(steps_cell).to_have_text(f"{step} / {total}", timeout=TIMEOUT)
    legend = page.locator(f"#compare-legend li[data-run='{edited}']")
    expect(legend.locator(".cv-plan")).to_contain_text(f"recovery {recovery}")
    expect(legend.locator(".cv-plan")).to_contain_text("edited live")
    expect(legend.locator(".cv-differs")).to_have_text(f"recovery steps={recovery}")
    diff = page.locator("#compare-diff")
    expect(diff).to_contain_text("recovery steps")
    expect(diff).to_contain_text(str(recovery))
    assert "20000" not in diff.inner_text()  # the plan the edit replaced is not what ran

    # the leaderboard: both runs unlearned the same backdoored model
    key = server.http.get("/api/leaderboard").json()["models"][0]["model_key"]
    page.goto(f"{server.url}/#/leaderboard?model={key}")
    row = page.locator(f"#leaderboard tr[data-run='{edited}']")
    expect(row).to_contain_text(f"{step} / {total}", timeout=TIMEOUT)
    expect(row).to_contain_text(f"recovery steps={recovery}")
    expect(row).to_contain_text("schedule edited live")
    page.screenshot(path=str(tmp_path / "leaderboard.png"))

    # the report reads the same plan: its subtitle and its schedule's total
    report = server.http.get(f"/api/runs/{edited}/report.html")
    assert report.status_code == 200
    assert f"step {step} / {total}" in report.text
    assert f"{step} of {total} steps taken (planned: 20004 steps, edited live)" in report.text

    # stopped by hand: its phase ended where it stood, so the run took `step` steps, and
    # the API and the list say so alike
    assert server.http.post(f"/api/runs/{edited}/stop").status_code == 200
    stopped = server.wait_status(edited, ("stopped",))
    assert stopped["plan"]["total"] == stopped["step"]
    after = server.http.get(f"/api/runs/{edited}/report.html").text
    assert f"stopped · {stopped['step']} steps" in after
    assert f"{stopped['step']} steps in total (planned: 20004 steps, edited live)" in after
    expect(page.locator(f"#run-list [data-id='{edited}'] .run-steps")).to_contain_text(
        f"{stopped['step']} steps", timeout=TIMEOUT
    )
