// The labels of a run chart's marks (early stops, schedule edits, a recovered trigger):
// marks that would print on top of each other share one label, marks apart keep their
// own, a label that would run past the right edge ends at its mark; the EWC line only
// for a schedule that uses EWC.

import assert from "node:assert/strict";
import { test } from "node:test";

import { markAnnotation, markLabels, MARK_ROW_PX, usesEwc } from "../../frontend/js/run/charts/marks.js";

const stop = (step) => ({ step, text: "early stop", hover: `Phase 1 stopped early at step ${step}`, color: "#8a5300", name: "early-stop" });
const edit = (step) => ({ step, text: "✎ edit", hover: `Schedule edited at step ${step}`, color: "#6b4fa0", name: "edit-marker" });

test("an early stop and an edit at the same step share one label, both in its hover", () => {
  const labels = markLabels([edit(40), stop(40)], 100, 500);
  assert.equal(labels.length, 1);
  assert.equal(labels[0].text, "early stop · ✎ edit");
  assert.equal(labels[0].hover, "Phase 1 stopped early at step 40<br>Schedule edited at step 40");
  assert.deepEqual(labels[0].names, ["early-stop", "edit-marker"]);
  assert.equal(labels[0].color, "#3e4c59"); // two kinds of mark: neutral ink
  const a = markAnnotation(labels[0]);
  assert.equal(a.yshift, MARK_ROW_PX); // the row above the phase labels, out of the plot area
  assert.equal(a.yref, "paper");
  assert.equal(a.y, 1);
  assert.equal(a.bgcolor, undefined); // nothing drawn over the data
});

test("marks closer than a label's width merge; marks far apart keep their own labels", () => {
  // 500 px for 100 steps: "early stop" is ~65 px = 13 steps wide
  const near = markLabels([stop(40), edit(45)], 100, 500);
  assert.deepEqual(near.map((l) => l.text), ["early stop · ✎ edit"]);
  assert.equal(near[0].step, 40);
  const far = markLabels([edit(80), stop(10)], 100, 500);
  assert.deepEqual(far.map((l) => [l.step, l.text, l.color]), [
    [10, "early stop", "#8a5300"],
    [80, "✎ edit", "#6b4fa0"],
  ]);
  // a chain: each mark touches the label grown so far
  assert.equal(markLabels([stop(10), edit(20), edit(30)], 100, 500).length, 1);
  assert.equal(markLabels([edit(10), edit(10)], 100, 500)[0].text, "✎ edit ×2");
});

test("a label that would run past the right edge ends at its mark", () => {
  const [end] = markLabels([stop(98)], 100, 500);
  assert.equal(end.xanchor, "right");
  const [start] = markLabels([stop(2)], 100, 500);
  assert.equal(start.xanchor, "left");
});

test("EWC only when a phase has ewc_lambda > 0", () => {
  assert.equal(usesEwc([{ kind: "ascent", ewc_lambda: 0 }, { kind: "recovery" }]), false);
  assert.equal(usesEwc([{ kind: "ascent", ewc_lambda: 0 }, { kind: "recovery", ewc_lambda: 5 }]), true);
  assert.equal(usesEwc(null), false);
});
