"""The page and the defence kinds: the schedule editor shows a kind's own fields (with its
published defaults filled in when the kind is chosen), and the run view's defence panel
draws I-BAU's universal perturbation with its norm and a caption."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.browser

expect: Any = pytest.importorskip("playwright.sync_api").expect


def test_choosing_a_kind_shows_its_own_fields_with_its_defaults(
    server: Any, page: Any, tmp_path: Path
) -> None:
    page.goto(f"{server.url}/#/new?preset=tiny")
    expect(page.locator("#form-phase-0-kind")).to_be_visible()
    expect(page.locator("[data-settings-of]")).to_have_count(0)  # ascent, recovery: none
    page.select_option("#form-phase-1-kind", "nad")
    beta = page.locator("#form-phase-1-settings-beta_high")
    expect(beta).to_be_visible()
    expect(beta).to_have_value("5000")  # NAD's published default
    expect(page.locator("#form-phase-1-settings-teacher_steps")).to_have_value("400")
    # the user's steps are kept; the kind's recipe is offered, one click away
    expect(page.locator("#form-phase-1-steps")).to_have_value("4")
    expect(page.locator("tr.kind-note[data-phase='1']")).to_contain_text("its recipe takes 1200")
    page.locator("#form-phase-1-use-steps").click()
    expect(page.locator("#form-phase-1-steps")).to_have_value("1200")
    expect(page.locator("[data-settings-of='1']")).to_contain_text("attention-distillation")
    # a bad value is marked at its field, before anything is sent
    beta.fill("-3")
    expect(page.locator("#form-phase-1-settings-beta_high-error")).to_contain_text("at least 0")
    beta.fill("100")
    page.select_option("#form-phase-1-kind", "ibau")
    expect(page.locator("#form-phase-1-settings-beta_high")).to_have_count(0)
    expect(page.locator("#form-phase-1-settings-inner_steps")).to_have_value("50")
    page.screenshot(path=str(tmp_path / "kind-fields.png"), full_page=True)


def test_the_defence_panel_draws_the_ibau_perturbation(
    server: Any, page: Any, tmp_path: Path
) -> None:
    run = server.create(
        {
            "schedule": [
                {
                    "kind": "ibau",
                    "steps": 6,
                    "lr": 0.001,
                    "batch_size": 16,
                    "settings": {"inner_steps": 3, "outer_steps": 3, "visual_every": 1},
                },
            ]
        }
    )
    server.wait_status(run["id"], ("completed",))
    page.goto(f"{server.url}/#/run/{run['id']}")
    tile = page.locator(".defence-tile[data-visual='perturbation']")
    expect(tile).to_be_visible(timeout=30_000)
    expect(tile).to_contain_text("universal perturbation")
    expect(tile.locator("dt", has_text="‖δ‖₂")).to_be_visible()
    canvas = tile.locator("canvas.dv-image")
    expect(canvas).to_be_visible()
    drawn = canvas.evaluate(
        """(c) => {
            const d = c.getContext("2d").getImageData(0, 0, c.width, c.height).data;
            let off = 0;
            for (let i = 0; i < d.length; i += 4) if (Math.abs(d[i] - 128) > 8) off += 1;
            return { w: c.width, h: c.height, css: c.getBoundingClientRect().width, off };
        }"""
    )
    assert drawn["w"] == 32 and drawn["h"] == 32 and drawn["css"] >= 96  # scaled up
    assert drawn["off"] > 0  # not a blank grey square: the perturbation is drawn
    expect(page.locator(".kind-loss-card")).to_be_visible()  # I-BAU's own losses
    page.screenshot(path=str(tmp_path / "defence-view.png"), full_page=True)
