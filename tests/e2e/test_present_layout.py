"""Presentation mode at 800x1000, 1440x900 and 1920x1080: no text overlaps other text or
leaves its box. Measured on the element boxes Chromium laid out: the big numbers and their
labels lie inside their cards and apart from each other, the cards apart, the header's
title, step line, verdict and buttons apart from the numbers; no text element is wider
than its own box (clipped, as "Rep" for Replay was), nothing runs off the screen sideways.
"""

from __future__ import annotations

import itertools
import re
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.browser

expect: Any = pytest.importorskip("playwright.sync_api").expect

SIZES = [(800, 1000), (1440, 900), (1920, 1080)]

# Boxes of the laid-out presenter, in page pixels: per number card its own box and its
# texts'; the header's texts; every text element's scroll and client widths.
MEASURE = """() => {
  const box = (el) => {
    const r = el.getBoundingClientRect();
    return [r.left, r.top, r.right, r.bottom];
  };
  const shown = (el) => el && el.getClientRects().length > 0;
  const cards = [...document.querySelectorAll("#present-numbers .pr-num")].map((card) => ({
    id: card.id,
    box: box(card),
    texts: [...card.querySelectorAll(".pr-num-name, .pr-before, .pr-arrow, .pr-now")]
      .map((t) => ({ cls: t.className, text: t.textContent, box: box(t) })),
  }));
  const head = [".pr-title", "#present-where", ".pr-verdict .verdict-line", "#present-speed",
                "#present-replay", "#present-exit"]
    .map((s) => document.querySelector(s)).filter(shown)
    .map((el) => ({ sel: el.id || el.className, box: box(el) }));
  const texts = [".pr-title", ".pr-where", ".pr-num-name", ".pr-num-values", "button", "h2",
                 ".pr-cap", "figcaption", ".verdict-line"].map((s) => `#presenter ${s}`);
  const blocks = [...document.querySelectorAll(texts.join(", "))].filter(shown)
    .map((el) => ({ sel: el.id || el.className || el.tagName, text: el.textContent.trim(),
                    scroll: el.scrollWidth, client: el.clientWidth }));
  const root = document.querySelector("#presenter");
  return { cards, head, blocks, page: [root.scrollWidth, root.clientWidth] };
}"""


def overlap(a: list[float], b: list[float]) -> bool:
    """Whether two boxes share more than a pixel's sliver."""
    return min(a[2], b[2]) - max(a[0], b[0]) > 1 and min(a[3], b[3]) - max(a[1], b[1]) > 1


def inside(inner: list[float], outer: list[float]) -> bool:
    return (
        inner[0] >= outer[0] - 0.5
        and inner[1] >= outer[1] - 0.5
        and inner[2] <= outer[2] + 0.5
        and inner[3] <= outer[3] + 0.5
    )


def overlapping(items: list[dict[str, Any]]) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """The pairs of `items` (each with a "box") whose boxes overlap."""
    return [(a, b) for a, b in itertools.combinations(items, 2) if overlap(a["box"], b["box"])]


def layout_faults(m: dict[str, Any]) -> list[str]:
    """Every overlap, escape and clip in a measurement, in words (empty: a clean layout)."""
    faults = []
    cards = m["cards"]
    for card in cards:
        for t in card["texts"]:
            if not inside(t["box"], card["box"]):
                faults.append(f"{card['id']}: {t['cls']} {t['text']!r} leaves its card")
        for a, b in overlapping(card["texts"]):
            faults.append(f"{card['id']}: {a['text']!r} overlaps {b['text']!r}")
    for a, b in overlapping(cards):
        faults.append(f"cards {a['id']} and {b['id']} overlap")
    head = m["head"]
    for a, b in overlapping(head):
        faults.append(f"header: {a['sel']} overlaps {b['sel']}")
    for a in head:
        for card in cards:
            if overlap(a["box"], card["box"]):
                faults.append(f"header: {a['sel']} overlaps the card {card['id']}")
    for b in m["blocks"]:
        if b["scroll"] > b["client"] + 1:
            clip = f"({b['scroll']} > {b['client']})"
            faults.append(f"{b['sel']} {b['text'][:40]!r} is clipped {clip}")
    if m["page"][0] > m["page"][1] + 1:
        faults.append(f"the screen scrolls sideways ({m['page'][0]} > {m['page'][1]})")
    return faults


def test_the_checks_see_an_overlap_an_escape_and_a_clip() -> None:
    card = {"id": "present-ca", "box": [0, 0, 100, 50]}
    bad: dict[str, Any] = {
        "cards": [
            {
                **card,
                "texts": [
                    {"cls": "pr-before", "text": "95.8%", "box": [10, 10, 60, 40]},
                    {"cls": "pr-now", "text": "0.2%", "box": [50, 10, 120, 40]},
                ],
            }
        ],
        "head": [],
        "blocks": [{"sel": "present-replay", "text": "▶ Replay", "scroll": 90, "client": 40}],
        "page": [800, 800],
    }
    faults = layout_faults(bad)
    assert any("leaves its card" in f for f in faults)
    assert any("overlaps" in f for f in faults)
    assert any("clipped" in f for f in faults)
    good = {**bad, "blocks": [], "cards": [{**card, "texts": bad["cards"][0]["texts"][:1]}]}
    assert layout_faults(good) == []


@pytest.fixture(scope="module")
def finished_run(server: Any) -> dict[str, Any]:
    run = server.create({"name": "a run with a name long enough to wrap on a narrow screen"})
    # a busy machine trains the tiny model slowly
    return server.wait_status(run["id"], ("completed",), timeout=900)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_presentation_mode_has_no_overlapping_or_clipped_text(
    browser: Any, server: Any, finished_run: dict[str, Any], size: tuple[int, int], tmp_path: Path
) -> None:
    context = browser.new_context(viewport={"width": size[0], "height": size[1]})
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda err: errors.append(str(err)))
    try:
        page.goto(f"{server.url}/#/run/{finished_run['id']}?present=1")
        expect(page.locator("#presenter")).to_be_visible(timeout=60_000)
        # the numbers filled in (a number, not the dash shown before measurements arrive)
        expect(page.locator("#present-asr .pr-now")).to_have_text(re.compile(r"\d"), timeout=60_000)
        expect(page.locator("#present-ca .pr-now")).to_have_text(re.compile(r"\d"))
        page.wait_for_timeout(500)  # fonts and the chart settled
        m = page.evaluate(MEASURE)
        page.screenshot(path=str(tmp_path / f"present-{size[0]}x{size[1]}.png"))
        assert len(m["cards"]) == 3 and all(len(c["texts"]) == 4 for c in m["cards"])
        assert layout_faults(m) == [], layout_faults(m)
    finally:
        context.close()
    assert not errors, errors
