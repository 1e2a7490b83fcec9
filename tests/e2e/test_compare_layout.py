"""The compare view's layout and the charts' labels, in Chromium on synthetic finished runs.

Runs are written straight into the server's store (bench/synth.py: no training), so a
12-run comparison of 400-step runs costs seconds. At 1440x900 the compare slider and a
heatmap must be on screen together, before and after the slider moves; a localisation
metric is drawn on its whole range and says so. On a run's page the marks' labels (an
early stop and an edit at the same step) stay out of the plot area and do not overlap, and
the EWC axis and legend entry appear only for a run whose schedule uses EWC.
"""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect

from unlearnscope.bench.synth import SynthRun, synth_events
from unlearnscope.events import Measurement, PhaseEnd, ScheduleEdit
from unlearnscope.presets import preset_config
from unlearnscope.states import RunStatus

pytestmark = pytest.mark.browser

STEPS = 400
RUNS = 12
STOP_AT = 240  # the marked runs' ascent stops early here, where the schedule was edited


def store_run(
    store: Any,
    run_id: str,
    i: int,
    *,
    ewc: float = 0.0,
    marked: bool = False,
    localisation: float | None = None,
) -> None:
    """A finished synthetic run. `marked`: its ascent stops early at STOP_AT, the step an
    accepted schedule edit took effect; `localisation`: every measurement's rank accuracy."""
    phase = {"kind": "ascent", "steps": STEPS, "lr": 0.001 * (1 + i % 4), "ewc_lambda": ewc}
    cfg = preset_config("demo", {"name": f"run {i:02d}", "seed": i % 3, "schedule": [phase]})
    spec = SynthRun(steps=STOP_AT if marked else STEPS, before=(97.0, 90.0), after=(3.0 + i, 88.0))
    events = synth_events(cfg, spec, seed=i)
    for e in events:
        if localisation is not None and isinstance(e, Measurement):
            e.rank_accuracy = localisation
    if marked:
        end = next(k for k, e in enumerate(events) if isinstance(e, PhaseEnd))
        stop = events[end]
        assert isinstance(stop, PhaseEnd)
        stop.reason, stop.asr, stop.threshold = "early_stop", 4.2, 10.0
        edited = [{**phase, "steps": STOP_AT}]
        edit = ScheduleEdit(accepted=True, step=STOP_AT, schedule=edited, total_steps=STOP_AT)
        edit.t = stop.t
        events.insert(end, edit)
        for seq, e in enumerate(events, start=1):
            e.seq = seq
    store.create(run_id, cfg, RunStatus.QUEUED)
    store.append(run_id, events)


@pytest.fixture(scope="module")
def synth_ids(server: Any) -> list[str]:
    store = server.service.store
    ids = [f"lay{i:02d}" for i in range(RUNS)]
    for i, run_id in enumerate(ids):
        store_run(store, run_id, i, localisation=0.004 if i < 2 else None)
    store_run(store, "laymark", 0, marked=True)
    store_run(store, "layewc", 1, marked=True, ewc=50.0)
    return ids


def _in_view(page: Any, selector: str) -> dict[str, float]:
    """The first element's box, clipped to the viewport; its area inside is `seen`."""
    return page.evaluate(
        """(sel) => { const r = document.querySelector(sel).getBoundingClientRect();
            const w = Math.max(0, Math.min(r.right, innerWidth) - Math.max(r.left, 0));
            const h = Math.max(0, Math.min(r.bottom, innerHeight) - Math.max(r.top, 0));
            return {top: r.top, bottom: r.bottom, left: r.left, right: r.right,
                    width: r.width, height: r.height, seen: w * h}; }""",
        selector,
    )


def _assert_on_screen(page: Any, what: str) -> None:
    slider = _in_view(page, "#compare-slider")
    heat = _in_view(page, "#compare-heat tbody canvas[data-heat='1']")
    # wholly inside the window, and not hidden under the sticky top bar (49 px)
    assert slider["height"] > 0 and slider["seen"] == pytest.approx(
        slider["width"] * slider["height"]
    ), (what, slider)
    assert heat["height"] >= 40 and heat["seen"] == pytest.approx(heat["width"] * heat["height"]), (
        what,
        heat,
    )
    assert min(slider["top"], heat["top"]) >= 49, (what, slider, heat)
    top_at = page.evaluate(
        """(sel) => { const r = document.querySelector(sel).getBoundingClientRect();
            const el = document.elementFromPoint(r.left + r.width / 2, r.top + r.height / 2);
            return el === document.querySelector(sel); }""",
        "#compare-heat tbody canvas[data-heat='1']",
    )
    assert top_at, f"{what}: the heatmap is covered by something else"


def _drawn(page: Any) -> None:
    page.wait_for_function(
        "[...document.querySelectorAll('#compare-heat tbody canvas')]"
        ".every((c) => c.dataset.heat === '1')"
        " && document.querySelectorAll('#compare-heat tbody tr').length > 0"
    )


def test_compare_slider_and_heatmaps_on_one_screen(
    server: Any, page: Any, synth_ids: list[str], tmp_path: Any
) -> None:
    page.set_viewport_size({"width": 1440, "height": 900})
    page.goto(f"{server.url}/#/compare/{','.join(synth_ids)}")
    page.wait_for_function("performance.getEntriesByName('compare:all-drawn').length > 0")
    _drawn(page)
    # the user reaches the slider (it is below the runs' legend at first) ...
    page.evaluate("document.querySelector('#compare-slider').scrollIntoView({block: 'center'})")
    _assert_on_screen(page, "after scrolling to the slider")
    # ... scrolls on through the charts: the slider and the heatmaps stay
    page.evaluate("document.querySelector('#cv-chart-loss').scrollIntoView({block: 'start'})")
    _assert_on_screen(page, "with the loss chart in view")
    # ... and moves the slider (keyboard, as a user does): the heatmaps follow, still in view
    before = page.eval_on_selector(
        "#compare-heat tbody tr", "tr => tr.querySelector('td[data-col=now] canvas').toDataURL()"
    )
    page.focus("#compare-slider")
    page.keyboard.press("Home")
    page.wait_for_function(
        "document.querySelector('#compare-step-label').dataset.steps.split(',')"
        ".every((s) => s === '0')"
    )
    _drawn(page)
    _assert_on_screen(page, "after moving the slider to the start")
    page.wait_for_function(
        "[...document.querySelectorAll('#compare-heat tbody tr')]"
        ".every((tr) => tr.dataset.frame === '0')"
    )
    after = page.eval_on_selector(
        "#compare-heat tbody tr", "tr => tr.querySelector('td[data-col=now] canvas').toDataURL()"
    )
    assert after != before, "the heatmap did not change with the slider"
    page.screenshot(path=str(tmp_path / "compare-1440.png"))
    print(f"screenshot: {tmp_path / 'compare-1440.png'}")

    # a localisation metric: its whole range, and a note saying so and what the values reach
    chart = "#cv-chart-rank_accuracy"
    assert page.evaluate(f"document.querySelector('{chart}').layout.yaxis.range") == [0, 1]
    note = page.locator(f"{chart} >> xpath=ancestor::section >> .cv-chart-note")
    expect(note).to_contain_text("whole range, 0 to 1")
    expect(note).to_contain_text("highest value here is 0.0040")


def test_compare_at_800_px_puts_the_slider_and_heatmaps_first(
    server: Any, page: Any, synth_ids: list[str]
) -> None:
    page.set_viewport_size({"width": 800, "height": 900})
    page.goto(f"{server.url}/#/compare/{','.join(synth_ids[:3])}")
    _drawn(page)
    slider = _in_view(page, "#compare-slider")
    heat = _in_view(page, "#compare-heat")
    charts = _in_view(page, "#cv-chart-asr")
    assert slider["bottom"] <= heat["top"] + 1 and heat["bottom"] <= charts["top"], (
        slider,
        heat,
        charts,
    )
    width, inner = page.evaluate("[document.documentElement.scrollWidth, innerWidth]")
    assert width <= inner, f"the page scrolls sideways: {width} px in a {inner} px window"


ANNOTATIONS = """(id) => [...document.querySelectorAll('#chart-' + id + ' .annotation')]
    .map((a) => { const r = a.getBoundingClientRect();
                  return {text: a.textContent, l: r.left, r: r.right, t: r.top, b: r.bottom}; })"""
PLOT_AREA = """(id) => { const r = document.querySelector('#chart-' + id + ' .nsewdrag')
    .getBoundingClientRect(); return {l: r.left, r: r.right, t: r.top, b: r.bottom}; }"""


def _open(page: Any, server: Any, run_id: str) -> None:
    page.set_viewport_size({"width": 1440, "height": 900})
    page.goto(f"{server.url}/#/run/{run_id}")
    expect(page.locator("#connection")).to_have_text("Recorded run")
    page.wait_for_function(
        "['quality', 'tar', 'loss'].every((id) => (document.querySelector('#chart-' + id)"
        ".layout.annotations || []).some((a) => (a.name || '').includes('early-stop')))"
    )


def test_marks_stay_above_the_data_and_apart(
    server: Any, page: Any, synth_ids: list[str], tmp_path: Any
) -> None:
    _open(page, server, "laymark")
    for chart in ("quality", "tar", "loss"):
        boxes = page.evaluate(ANNOTATIONS, chart)
        area = page.evaluate(PLOT_AREA, chart)
        # (the phase's own label, "1 · ascent · stopped early", sits in the row below)
        marks = [
            b for b in boxes if any(w in b["text"] for w in ("✎", "early stop", "monitor ASR"))
        ]
        # the early stop and the edit at the same step: one label naming both
        assert len(marks) == 1, (chart, boxes)
        assert "edit" in marks[0]["text"] and "stop" in marks[0]["text"], (chart, marks)
        for b in marks:  # above the plot area, where no line is drawn
            assert b["b"] <= area["t"] + 1, (chart, b, area)
        for k, a in enumerate(boxes):  # no two labels overlap
            for b in boxes[k + 1 :]:
                apart = a["r"] <= b["l"] or b["r"] <= a["l"] or a["b"] <= b["t"] or b["b"] <= a["t"]
                assert apart, (chart, a, b)
    quality = page.evaluate(ANNOTATIONS, "quality")
    assert any("monitor ASR 4.2% < 10%" in b["text"] for b in quality), quality
    page.screenshot(path=str(tmp_path / "run-marks.png"))
    print(f"screenshot: {tmp_path / 'run-marks.png'}")


EWC_STATE = """() => { const p = document.querySelector('#chart-loss');
    const t = p.data.find((d) => d.name.startsWith('EWC penalty'));
    return {axis: Boolean(p._fullLayout.yaxis2), visible: t.visible,
            legend: [...p.querySelectorAll('.legendtext')].map((e) => e.textContent)}; }"""


def test_ewc_axis_and_legend_only_when_a_phase_uses_ewc(
    server: Any, page: Any, synth_ids: list[str]
) -> None:
    _open(page, server, "laymark")  # ewc_lambda 0
    state = page.evaluate(EWC_STATE)
    assert state["axis"] is False and state["visible"] is False, state
    assert not any("EWC" in t for t in state["legend"]), state
    assert any("ascent CE" in t for t in state["legend"]), state
    _open(page, server, "layewc")  # ewc_lambda 50
    # in the legend, one click away (legends start small); its axis once shown
    page.wait_for_function(f"({EWC_STATE})().legend.some((t) => t.includes('EWC'))")
    state = page.evaluate(EWC_STATE)
    assert state["visible"] == "legendonly" and state["axis"] is False, state
    page.evaluate(  # what a click on its legend entry does (the scrub bar may cover it)
        """() => { const p = document.querySelector('#chart-loss');
        const i = p.data.findIndex((d) => d.name.startsWith('EWC penalty'));
        return window.Plotly.restyle(p, {visible: true}, [i]); }"""
    )
    page.wait_for_function(f"({EWC_STATE})().axis")
    state = page.evaluate(EWC_STATE)
    assert state["visible"] is True, state
