"""The defence views tell one story in plain words. Neural Cleanse: the anomaly-index chart
and the "flagged" line come from one test (only an abnormally SMALL trigger is flagged, as
in Wang et al. 2019), the chart's flagged bars are the classes the text names, and the
recovered trigger is shown stamped on a test image beside the true trigger on that image,
its numbers explained. ANP: the mask histogram spans 0..1, and layers are named in plain
words with the internal name only as a tooltip."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import torch
from torch import nn

from unlearnscope.ml.kinds.nc.step import (
    ANOMALY_THRESHOLD,
    NeuralCleanseRun,
    Recovered,
    anomaly_index,
)
from unlearnscope.ml.layer_names import named, plain_layer_name
from unlearnscope.ml.models.classifier import build_model

expect: Any = pytest.importorskip("playwright.sync_api").expect


# -- the data the views draw -------------------------------------------------------------


def test_only_an_abnormally_small_trigger_is_flagged() -> None:
    norms = [40.0, 41.0, 39.0, 42.0, 38.0, 40.5, 39.5, 41.5, 3.0, 400.0]  # 8 tiny, 9 huge
    a = anomaly_index(norms)
    assert a.index[9] > ANOMALY_THRESHOLD and a.index[8] > ANOMALY_THRESHOLD
    assert a.smaller[8] > ANOMALY_THRESHOLD and a.smaller[9] < -ANOMALY_THRESHOLD
    assert a.flagged == [8]  # the large one is an outlier too, on the side that never counts
    assert [abs(v) for v in a.smaller] == a.index


def test_the_anomaly_chart_and_its_text_come_from_the_same_test() -> None:
    run = NeuralCleanseRun.__new__(NeuralCleanseRun)  # only the detection, no model needed
    norms = [40.0, 41.0, 39.0, 42.0, 38.0, 40.5, 39.5, 41.5, 3.0, 400.0]
    mask, pattern = torch.zeros(4, 4), torch.zeros(3, 4, 4)
    run.found = [Recovered(c, mask, pattern, n, True) for c, n in enumerate(norms)]
    visual = run._detect("anomaly")
    index, flagged = visual.values["anomaly index"], visual.values["flagged"]
    assert visual.values["labels"] == [float(c) for c in range(10)]
    # a bar is flagged exactly when it stands above the rule, on the smaller side
    rule = visual.scalars["rule"]
    assert [v > rule for v in index] == [bool(f) for f in flagged]
    assert index[9] < 0  # the huge trigger is drawn below zero, not above the line
    named_in_text = re.search(r"flagged \(.*\): ([\d, ]+|none)", visual.text)
    assert named_in_text is not None
    assert named_in_text.group(1) == "8" and visual.scalars["flagged"] == sum(flagged) == 1


def test_layers_read_in_plain_words() -> None:
    seen = {}
    for arch in ("small_cnn", "resnet18", "preact_resnet18"):
        net = build_model(arch, 10, (0.0, 0.0, 0.0), (1.0, 1.0, 1.0), width=8)
        for path, module in net.named_modules():
            if isinstance(module, nn.BatchNorm2d):
                words = plain_layer_name(path)
                assert "net." not in words and "stage" not in words and "bn" not in words, path
                seen[path] = words
    assert seen["net.features.stage3.1.1"] == "layer 3, block 2"
    assert seen["net.layer3.1.bn2"] == "layer 3, block 2, norm 2"
    assert seen["net.layer2.0.downsample.1"] == "layer 2, block 1, shortcut"
    assert seen["net.bn1"] == "first convolution"
    assert plain_layer_name("encoder.blocks.7.norm") == "encoder.blocks.7.norm"  # unknown: as is
    assert named("net.features.stage1.0.1") == "layer 1, block 1 [net.features.stage1.0.1]"


# -- the views in Chromium ---------------------------------------------------------------

PLOT = """(el) => {
  const plot = el.querySelector(".dv-plot");
  const t = plot.data[0];
  return {
    range: plot._fullLayout.xaxis.range, x: t.x, y: t.y, colors: t.marker.color,
    rule: (plot.layout.shapes || []).map((s) => s.y0),
  };
}"""


# the range of a canvas's green channel: a picture, not a flat square, has one
SPREAD = """(c) => {
  const d = c.getContext("2d").getImageData(0, 0, c.width, c.height).data;
  let lo = 255, hi = 0;
  for (let i = 1; i < d.length; i += 4) { lo = Math.min(lo, d[i]); hi = Math.max(hi, d[i]); }
  return hi - lo;
}"""


@pytest.mark.browser
def test_neural_cleanse_chart_text_and_trigger_agree(
    server: Any, page: Any, tmp_path: Path
) -> None:
    settings = {"steps_per_class": 2, "detection": "anomaly"}
    run = server.create(
        {
            "schedule": [
                {"kind": "nc", "steps": 24, "lr": 0.01, "batch_size": 16, "settings": settings}
            ]
        }
    )
    server.wait_status(run["id"], ("completed",), timeout=900)
    page.goto(f"{server.url}/#/run/{run['id']}")
    chart = page.locator(".defence-tile[data-visual='anomaly_index']")
    expect(chart.locator(".dv-plot .main-svg").first).to_be_visible(timeout=60_000)
    text = chart.locator(".dv-text").inner_text()
    drawn = chart.evaluate(PLOT)
    rule = 2
    assert rule in drawn["rule"]
    orange = [x for x, c in zip(drawn["x"], drawn["colors"], strict=True) if c == "#D55E00"]
    above = [x for x, y in zip(drawn["x"], drawn["y"], strict=True) if y > rule]
    assert orange == above  # every bar above the line is flagged, and only those
    said = re.search(r"flagged \(.*\): ([^;]+)", text)
    assert said is not None, text
    named_classes = [] if said.group(1).strip() == "none" else said.group(1).split(", ")
    assert [x.split(" ")[0] for x in orange] == named_classes
    if not orange:
        expect(chart.locator(".dv-notes")).to_contain_text("nothing flagged")
    # the recovered trigger, on a test image, beside the true trigger on the same image
    tile = page.locator(".defence-tile[data-visual='recovered_trigger']")
    for sel in ("canvas.dv-recovered", "canvas.dv-true"):
        canvas = tile.locator(sel)
        expect(canvas).to_be_visible()
        spread = canvas.evaluate(SPREAD)
        assert spread > 30, f"{sel} shows a picture, not a flat square"
    expect(tile.locator("figcaption").first).to_contain_text("on a test image")
    expect(tile.locator("figcaption").nth(1)).to_contain_text("true trigger on the same image")
    expect(tile.locator(".dv-notes")).to_contain_text("size of the recovered mask in pixels")
    expect(tile.locator(".dv-notes")).to_contain_text("overlap between the recovered mask")
    expect(tile.locator(".dv-plot")).to_be_hidden()  # the mask is drawn stamped, not as bars
    page.screenshot(path=str(tmp_path / "nc-defence-view.png"), full_page=True)


@pytest.mark.browser
def test_anp_histogram_spans_0_to_1_and_layers_are_plain_words(
    server: Any, page: Any, tmp_path: Path
) -> None:
    run = server.create(
        {"schedule": [{"kind": "anp", "steps": 6, "lr": 0.2, "batch_size": 16, "settings": {}}]}
    )
    server.wait_status(run["id"], ("completed",), timeout=900)
    page.goto(f"{server.url}/#/run/{run['id']}")
    hist = page.locator(".defence-tile[data-visual='mask_histogram']")
    expect(hist.locator(".dv-plot .main-svg").first).to_be_visible(timeout=60_000)
    assert hist.evaluate(PLOT)["range"] == [0, 1]
    pruned = page.locator(".defence-tile[data-visual='pruned']")
    words = pruned.locator(".dv-text").inner_text()
    assert "net." not in words and "stage" not in words, words
    names = pruned.locator(".dv-named")
    if names.count():  # something is under the threshold: its layer in words, path as tooltip
        assert re.fullmatch(r"layer \d, block \d", names.first.inner_text())
        assert (names.first.get_attribute("title") or "").startswith("net.")
    else:
        assert words.endswith("none")
    page.screenshot(path=str(tmp_path / "anp-defence-view.png"), full_page=True)
