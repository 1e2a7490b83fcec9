// What a first-time viewer is told (issue 26): which model a step shows (the verdict's
// defended model, or the model after a closing attack), the trigger in pictures and one
// sentence for every kind of trigger, and charts whose legends start with ASR and CA.

import assert from "node:assert/strict";
import { test } from "node:test";

import { OPTIONS } from "./options.mjs";
import { defendedStep, firstClosingAttack, modelAt, stageContext } from "../../frontend/js/run/stage.js";
import { changePicture, cropPatch, triggerWords } from "../../frontend/js/run/trigger.js";
import { chartSpecs, shownAs, traceOf } from "../../frontend/js/run/charts/specs.js";
import { markLabels } from "../../frontend/js/run/charts/marks.js";

const attackKinds = OPTIONS.phase_kinds.filter((k) => k.attack).map((k) => k.kind);
const phase = (kind, start, end) => ({ kind, start, end });

test("the server marks relearn and qra as attacks, and no defence", () => {
  assert.deepEqual([...attackKinds].sort(), ["qra", "relearn"]);
});

test("the defended model ends where the closing attacks begin", () => {
  const schedule = [{ kind: "ascent" }, { kind: "recovery" }, { kind: "qra" }, { kind: "relearn" }];
  const phases = [phase("ascent", 0, 8), phase("recovery", 8, 158), phase("qra", 158, 358), phase("relearn", 358, 398)];
  const m = { schedule, phases, finished: { step: 398 }, active: false };
  const ctx = stageContext(m);
  assert.equal(firstClosingAttack(schedule, ctx.isAttack), 2);
  assert.equal(defendedStep(schedule, phases, ctx.isAttack), 158);
  assert.equal(modelAt(0, ctx).label, "before unlearning");
  assert.equal(modelAt(100, ctx).label, "during the defence");
  assert.equal(modelAt(158, ctx).label, "after the defence");
  const relearn = OPTIONS.phase_kinds.find((k) => k.kind === "relearn").label;
  assert.equal(modelAt(398, ctx).label, `after the ${relearn[0].toLowerCase()}${relearn.slice(1)}`);
  assert.equal(modelAt(398, ctx).key, "attack");
  // the defence's last phase still running: no defended model yet
  assert.equal(defendedStep(schedule, [phase("ascent", 0, 8), phase("recovery", 8, null)], ctx.isAttack), null);
});

test("without closing attacks the newest model is the defended one", () => {
  const schedule = [{ kind: "ascent" }, { kind: "recovery" }];
  const phases = [phase("ascent", 0, 30), phase("recovery", 30, 36)];
  const done = stageContext({ schedule, phases, finished: { step: 36 }, active: false });
  assert.equal(defendedStep(schedule, phases, done.isAttack), null);
  assert.equal(modelAt(36, done).label, "after the defence");
  const live = stageContext({ schedule, phases: [phase("ascent", 0, null)], finished: null, active: true });
  assert.equal(modelAt(12, live).label, "during the defence");
  // a schedule of attacks only attacks the backdoored model itself
  const only = [{ kind: "relearn" }];
  assert.equal(defendedStep(only, [phase("relearn", 0, 40)], done.isAttack), 0);
});

/** An S*S*3 image of one grey level. */
const flat = (size, v) => new Uint8Array(size * size * 3).fill(v);

test("a patch is cut out with its margin, clipped at the image's edge", () => {
  const size = 8;
  const img = flat(size, 10);
  img.set([255, 255, 255], (6 * size + 6) * 3); // pixel (x 6, y 6)
  const patch = cropPatch(img, size, [5, 5, 8, 8], 1); // a 3x3 patch in the corner
  assert.deepEqual([patch.width, patch.height], [4, 4]); // the margin only where there is room
  assert.deepEqual([...patch.rgb.subarray((2 * 4 + 2) * 3, (2 * 4 + 2) * 3 + 3)], [255, 255, 255]);
  assert.equal(patch.rgb[0], 10);
});

test("a faint trigger's change is amplified until it shows", () => {
  const size = 4;
  const clean = flat(size, 100);
  const triggered = flat(size, 100);
  triggered[0] = 110; // one pixel, 10 levels brighter in red
  const change = changePicture(clean, triggered);
  assert.equal(change.max, 10);
  assert.equal(change.gain, 25);
  assert.equal(change.rgb[0], 250);
  assert.equal(change.rgb[3], 0);
  assert.equal(change.share, 1 / 16);
  assert.equal(changePicture(clean, clean).gain, 1); // nothing changed: nothing to amplify
});

test("one plain sentence for every kind of trigger", () => {
  const patch = triggerWords({ source: "attack", box: [28, 28, 31, 31], target: "airplane" });
  assert.equal(patch.text, "This 3×3 pixel patch is the trigger: stamped on any image, the backdoored model answers “airplane”.");
  assert.equal(patch.third, "the trigger, enlarged");
  const faint = { max: 25, gain: 10, share: 1 };
  const blended = triggerWords({ source: "attack", box: null, target: "cat", attack: "Blended backdoor", change: faint });
  assert.match(blended.text, /^The trigger \(Blended backdoor\) is spread over the whole image \(it touches 100% of the pixels\), too faint to see: .* answers “cat”\. Right: what it changes, amplified\.$/);
  assert.equal(blended.third, "what the trigger changes, ×10 brighter");
  const bright = triggerWords({ source: "attack", box: null, target: "cat", attack: "WaNet backdoor", change: { max: 200, gain: 1, share: 0.3 } });
  assert.doesNotMatch(bright.text, /too faint/);
  assert.equal(bright.third, "what the trigger changes");
  assert.match(triggerWords({ source: "file", target: "dog", change: faint }).text, /file brought its own triggered test images/);
  assert.match(triggerWords({ source: "recovered", target: "dog", change: faint, recoveredBy: "recovered by nc (phase 1)" }).text, /^The trigger recovered by nc \(phase 1\): .*not the attacker's own\.$/);
  const unknown = triggerWords({ source: "unknown", target: "–" });
  assert.match(unknown.text, /^Nobody told UnlearnScope what the trigger is/);
  assert.equal(unknown.third, "");
});

test("a first look shows ASR and CA; RA, TAR mean and EWC are one legend click away", () => {
  const specs = chartSpecs();
  const legend = (id) =>
    specs.find((s) => s.id === id).traces
      .map((t) => ({ spec: t, trace: traceOf(t) }))
      .filter(({ trace }) => trace.visible !== false && trace.showlegend !== false);
  const quality = legend("quality");
  assert.deepEqual(quality.filter(({ trace }) => trace.visible === true).map(({ spec }) => spec.name), ["ASR", "CA"]);
  assert.deepEqual(quality.filter(({ trace }) => trace.visible === "legendonly").map(({ spec }) => spec.name), ["RA"]);
  // the full test set's diamonds follow their line's entry
  const diamonds = specs[0].traces.filter((t) => t.markers).map((t) => traceOf(t));
  assert.deepEqual(diamonds.map((t) => [t.legendgroup, t.showlegend]), [["ASR", false], ["CA", false], ["RA", false]]);
  assert.deepEqual(legend("tar").map(({ spec, trace }) => [spec.name, trace.visible]), [["TAR median", true], ["TAR mean", "legendonly"]]);
  const ewc = specs.find((s) => s.id === "loss").traces.find((t) => t.yaxis === "y2");
  assert.equal(shownAs(ewc), "legendonly");
  // the TAR chart's selector: another metric's lines replace TAR's
  const tar = specs.find((s) => s.id === "tar").traces;
  assert.deepEqual(tar.filter((t) => shownAs(t, "auc") !== false).map((t) => t.name), ["ROC-AUC", "ROC-AUC, full evaluation"]);
});

test("a mark's label is never clipped: shifted in, or its short text when the plot is narrow", () => {
  const stop = (step) => ({ step, text: "ascent stopped early (monitor ASR 7.0% < 10%)", short: "ascent stopped early", hover: "h", color: "#8a5300", name: "early-stop" });
  const long = 45 * 6.5; // px of the long text
  // room for the long text, but not on either side of a mark near the left edge
  const [shifted] = markLabels([stop(8)], 400, 300);
  assert.equal(shifted.text.length, 45);
  assert.equal(shifted.xanchor, "left");
  const left = (8 / 400) * 300;
  assert.ok(left + shifted.xshift >= 0 && left + shifted.xshift + long <= 300, shifted);
  // a plot narrower than the long text: the short one, at the mark
  const [narrow] = markLabels([stop(8)], 400, 250);
  assert.deepEqual([narrow.text, narrow.xanchor, narrow.xshift], ["ascent stopped early", "left", 0]);
});
