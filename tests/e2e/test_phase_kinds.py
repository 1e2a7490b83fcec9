"""Adding a phase kind is adding one entry to phase_kinds.PHASE_KINDS, for the page too: a
throwaway kind registered in the live server's process (it runs in this test process)
before the page loads is offered by the new-run form's schedule table, explained above it,
picked for an added phase when it is the first that needs no forget set, and gets its own
loss line in the run charts, with no change to the page."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from unlearnscope.ml.kinds.kind import PhaseKind
from unlearnscope.ml.kinds.registry import PHASE_KINDS

pytestmark = pytest.mark.browser

expect: Any = pytest.importorskip("playwright.sync_api").expect


@pytest.fixture
def stand_still() -> Iterator[str]:
    # Registered between ascent and recovery, so it is also the kind an added phase gets
    # (the first that needs no forget set). The registry's order is restored afterwards.
    saved = dict(PHASE_KINDS)
    kinds = {"ascent": saved["ascent"]}
    kinds["stand_still"] = PhaseKind(
        label="Stand still",
        description="A step that changes nothing (test kind).",
        step="tests.kinds.test_kind_registry:StandStill",
        uses_forget_set=False,
    )
    kinds.update((k, v) for k, v in saved.items() if k != "ascent")
    PHASE_KINDS.clear()
    PHASE_KINDS.update(kinds)
    try:
        yield "stand_still"
    finally:
        PHASE_KINDS.clear()
        PHASE_KINDS.update(saved)


def test_a_registered_kind_is_offered_by_the_page(
    server: Any, page: Any, stand_still: str, tmp_path: Path
) -> None:
    page.goto(f"{server.url}/#/new?preset=tiny")
    kind = page.locator("#form-phase-0-kind")
    expect(kind).to_be_visible()
    offered = kind.locator("option").all_inner_texts()
    assert offered[:3] == ["ascent", stand_still, "recovery"]  # then the other kinds
    title = kind.locator(f"option[value='{stand_still}']").get_attribute("title")
    assert title == "Stand still: A step that changes nothing (test kind)."
    expect(page.locator(".phase-kinds")).to_contain_text("A step that changes nothing")

    # An added phase takes the first registered kind that needs no forget set.
    rows = page.locator("#section-schedule tbody tr")
    before = rows.count()
    page.get_by_role("button", name="+ Add phase").click()
    expect(rows).to_have_count(before + 1)
    expect(page.locator(f"#form-phase-{before}-kind")).to_have_value(stand_still)
    page.select_option("#form-phase-1-kind", stand_still)
    expect(page.locator("#form-phase-1-kind")).to_have_value(stand_still)

    # The run charts draw one loss line per registered kind, coloured by its place.
    losses = page.evaluate(
        """async () => {
            const { chartSpecs, phaseColor } = await import("/js/run/charts/specs.js");
            const loss = chartSpecs().find((c) => c.id === "loss");
            const band = phaseColor("stand_still").fill();
            return { names: loss.traces.map((t) => t.name), band };
        }"""
    )
    assert losses["names"][:3] == [
        "ascent CE (forget set)",
        "stand_still CE (clean set)",
        "recovery CE (clean set)",
    ]
    assert losses["band"] == "rgba(0, 114, 178, 0.08)"  # the second kind's colour
    page.screenshot(path=str(tmp_path / "phase-kinds.png"))
    print(f"screenshot: {tmp_path / 'phase-kinds.png'}")
