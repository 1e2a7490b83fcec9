// Unit tests of the page's pure logic (run by test_js_units.py with `node --test`).

import assert from "node:assert/strict";
import { test } from "node:test";

import "./options.mjs";
import { RunModel, markSkipped } from "../../frontend/js/run/model.js";
import { decodeMessage, unpackFrame } from "../../frontend/js/core/wire.js";
import { describe, readInput } from "../../frontend/js/form/fields.js";
import { earlyStopText, setupText } from "../../frontend/js/core/format.js";
import { withGaps } from "../../frontend/js/core/series.js";

const RUN = {
  id: "r1",
  name: "t",
  status: "running",
  step: 0,
  total_steps: 30,
  schedule: [
    { kind: "ascent", steps: 10 },
    { kind: "recovery", steps: 20 },
  ],
  config: { data: { test_size: 200 } },
};

function step(n, extra = {}) {
  return { type: "step", seq: 100 + n, t: 1000 + n, step: n, phase_index: n <= 10 ? 0 : 1, phase_step: n, kind: "ascent", ...extra };
}

test("a binary frame splits into its JSON header and byte parts", () => {
  const header = new TextEncoder().encode(JSON.stringify({ type: "frames", seq: 3, parts: [["maps", 4]] }));
  const buf = new Uint8Array(4 + header.length + 4);
  new DataView(buf.buffer).setUint32(0, header.length, false);
  buf.set(header, 4);
  buf.set([1, 2, 3, 255], 4 + header.length);
  const event = decodeMessage(buf.buffer);
  assert.equal(event.seq, 3);
  assert.deepEqual([...event.maps], [1, 2, 3, 255]);
  assert.throws(() => unpackFrame(buf.buffer.slice(0, buf.length - 1)), /header names/);
});

function measure(n, fields, seq = 500 + n) {
  return { type: "measurement", seq, t: 2000 + seq, step: n, phase_index: 0, seconds: 0.1, lag: 0, ...fields };
}

test("the newest measurement wins, whether from the monitor or a full evaluation", () => {
  const m = new RunModel(RUN);
  m.apply({ type: "evaluation", seq: 1, step: 0, label: "before", asr: 99, ca: 90 });
  m.apply(step(1));
  m.apply(measure(1, { asr: 80 }));
  m.apply(step(2));
  m.apply({ type: "evaluation", seq: 2, step: 2, label: "phase 1 (ascent)", asr: 40, ca: 85 });
  m.apply(step(3));
  m.apply(measure(3, { asr: "NaN" }));
  assert.deepEqual(m.latest(1, "asr"), { value: 80, step: 1, full: false });
  assert.deepEqual(m.latest(2, "asr"), { value: 40, step: 2, full: true });
  assert.ok(Number.isNaN(m.latest(3, "asr").value)); // a diverged value stays visible as NaN
  assert.deepEqual(m.latest(1, "ca"), { value: 90, step: 0, full: true });
});

test("late measurements land at their step, and two for one step merge", () => {
  const m = new RunModel(RUN);
  for (let n = 1; n <= 6; n++) m.apply(step(n));
  // Arrival order: step 4's ASR, then step 2's TAR, then step 4's TAR and CA, then step 2's ASR.
  m.apply(measure(4, { asr: 30, tar_median: null }, 601));
  m.apply(measure(2, { tar_median: 3.5, tar_mean: 4 }, 602));
  m.apply(measure(4, { tar_median: 1.2, ca: 88, asr: null }, 603));
  m.apply(measure(2, { asr: 70 }, 604));
  assert.deepEqual(m.measurements.map((s) => s.step), [2, 4]);
  assert.deepEqual(m.series("asr"), { steps: [2, 4], values: [70, 30] });
  assert.deepEqual(m.series("tar_median"), { steps: [2, 4], values: [3.5, 1.2] });
  assert.equal(m.measurements[1].asr, 30); // a later null does not erase a measured value
  assert.deepEqual(m.latest(3, "asr"), { value: 70, step: 2, full: false });
  assert.deepEqual(m.latest(6, "ca"), { value: 88, step: 4, full: false });
  assert.equal(m.latest(1, "asr"), null);
});

test("late frames are placed by their step; the slider's floor finds them", () => {
  const m = new RunModel(RUN);
  const frame = (n, seq) => ({ type: "frames", seq, step: n, size: 1, count: 1, maps: new Uint8Array(2), preds: [[0, 0]], confs: [[1, 1]], tars: [n] });
  m.apply(frame(0, 1));
  m.apply(frame(6, 2));
  m.apply(frame(3, 3));
  m.apply(frame(9, 4));
  m.apply(frame(3, 5)); // the same step again replaces, not duplicates
  assert.deepEqual(m.frameSteps, [0, 3, 6, 9]);
  assert.deepEqual(m.probeTarHistory(0), { steps: [0, 3, 6, 9], tars: [0, 3, 6, 9] });
});

test("measured series break where the monitor skipped far more than usual", () => {
  assert.deepEqual(withGaps([0, 5, 10, 15, 40, 45], [1, 2, 3, 4, 5, 6]), {
    x: [0, 5, 10, 15, 27.5, 40, 45],
    y: [1, 2, 3, 4, null, 5, 6],
  });
  assert.deepEqual(withGaps([0, 3, 7, 10], [1, 2, 3, 4]).y, [1, 2, 3, 4]); // irregular but dense
  assert.deepEqual(withGaps([], []), { x: [], y: [] });
  // Two lone measurements far apart (a busy monitor) are points, not a line.
  assert.deepEqual(withGaps([5, 159], [70, 92], { expected: 5 }).y, [70, null, 92]);
  // A regular interval wider than configured still draws a line.
  assert.deepEqual(withGaps([0, 12, 24, 36, 48], [1, 2, 3, 4, 5], { expected: 5 }).y, [1, 2, 3, 4, 5]);
});

test("an early stop shortens the plan and says why", () => {
  const m = new RunModel({ ...RUN, total_steps: 200, schedule: [{ kind: "ascent", steps: 40 }, { kind: "recovery", steps: 160 }] });
  m.apply({ type: "phase_start", seq: 1, phase_index: 0, kind: "ascent", step: 0, planned_steps: 40 });
  for (let n = 1; n <= 8; n++) m.apply(step(n));
  assert.equal(m.plannedTotal(), 200);
  m.apply({ type: "phase_end", seq: 20, phase_index: 0, kind: "ascent", step: 8, reason: "early_stop", steps: 8, asr: 4.6, threshold: 10 });
  m.apply({ type: "phase_start", seq: 21, phase_index: 1, kind: "recovery", step: 8, planned_steps: 160 });
  assert.equal(m.plannedTotal(), 168);
  assert.equal(earlyStopText(m.earlyStops()[0], false), "Phase 1 (ascent) stopped early at step 8 (monitor ASR 4.6% < 10%)");
});

test("preparation: attack-training progress is kept as a curve", () => {
  const m = new RunModel({ ...RUN, status: "preparing" });
  m.apply({ type: "progress", seq: 1, t: 10, stage: "data", done: 1, total: 1, message: "ok", metrics: {} });
  m.apply({ type: "progress", seq: 2, t: 11, stage: "attack_training", done: 5, total: 40, message: "training", metrics: { loss: 2.1, acc: 30 } });
  m.apply({ type: "progress", seq: 3, t: 13, stage: "attack_training", done: 10, total: 40, message: "training", metrics: { loss: 1.4, acc: 55 } });
  assert.deepEqual(m.trainLog.map((p) => [p.done, p.acc]), [[5, 30], [10, 55]]);
  assert.equal(m.progress.done, 10);
});

test("phase bands: what ran, the current phase, and the planned rest", () => {
  const m = new RunModel(RUN);
  m.apply({ type: "phase_start", seq: 1, phase_index: 0, kind: "ascent", step: 0, planned_steps: 10 });
  m.apply(step(4));
  m.apply({ type: "phase_end", seq: 2, phase_index: 0, kind: "ascent", step: 4, reason: "early_stop" });
  m.apply({ type: "phase_start", seq: 3, phase_index: 1, kind: "recovery", step: 4, planned_steps: 20 });
  const spans = m.phaseSpans();
  assert.deepEqual(spans.map((s) => [s.start, s.end, s.current]), [[0, 4, false], [4, 24, true]]);
  assert.equal(spans[0].reason, "early_stop");
  m.apply({ type: "schedule_edit", seq: 4, step: 4, accepted: true, schedule: [...RUN.schedule, { kind: "ascent", steps: 5 }], total_steps: 35 });
  assert.deepEqual(m.phaseSpans().at(-1), { index: 2, kind: "ascent", start: 24, end: 29, planned: true });
  assert.equal(m.totalSteps, 35);
});

test("the chart axis runs a round number ahead of a long run, then shows the whole plan", () => {
  const m = new RunModel({ ...RUN, total_steps: 3000, schedule: [{ kind: "recovery", steps: 3000 }] });
  m.apply({ type: "phase_start", seq: 1, phase_index: 0, kind: "recovery", step: 0, planned_steps: 3000 });
  m.apply(step(30));
  assert.equal(m.chartEnd(), 50);
  m.apply(step(400));
  assert.equal(m.chartEnd(), 1000);
  m.apply(step(1600));
  assert.equal(m.chartEnd(), 3000);
});

test("a skipped frame is known by its step and marked for fetching", () => {
  const m = new RunModel(RUN);
  m.apply({ type: "frames", seq: 1, step: 0, size: 2, count: 1, maps: new Uint8Array(8), preds: [[0, 0]], confs: [[1, 1]], tars: [2] });
  markSkipped(m, { type: "skipped", seq: 2, step: 1 });
  assert.deepEqual(m.frameSteps, [0, 1]);
  assert.equal(m.frames.get(1).missing, true);
  assert.deepEqual(m.probeTarHistory(0), { steps: [0], tars: [2] });
});

test("form fields: the schema's types and ranges, nullable means empty", () => {
  const lr = describe({ type: "number", exclusiveMinimum: 0, maximum: 10 });
  assert.deepEqual(readInput({ value: "0.01" }, lr), { value: 0.01 });
  assert.equal(readInput({ value: "0" }, lr).error, "must be greater than 0");
  assert.equal(readInput({ value: "abc" }, lr).error, "must be a number");
  const size = describe({ anyOf: [{ type: "integer", minimum: 10 }, { type: "null" }], default: 6000 });
  assert.deepEqual(readInput({ value: "" }, size), { value: null });
  assert.equal(readInput({ value: "12.5" }, size).error, "must be a whole number");
  const mean = describe({ type: "array", prefixItems: [{}, {}, {}] });
  assert.deepEqual(readInput({ value: "0.5, 0.4 0.3" }, mean), { value: [0.5, 0.4, 0.3] });
});

test("an unknown trigger has no target until a phase recovers one, then the recovered before", () => {
  const m = new RunModel(RUN);
  m.apply({ type: "run_started", seq: 1, target_class: null, trigger_source: "unknown", classes: ["a", "b"], schedule: RUN.schedule, total_steps: 30 });
  m.apply({ type: "evaluation", seq: 2, step: 0, label: "before", asr: null, ca: 90 });
  assert.equal(m.targetClass, null);
  assert.equal(m.triggerUnknown, true);
  assert.equal(m.triggerLabel("ASR"), "ASR");
  assert.equal(m.before().asr, null);
  m.apply({ type: "trigger_found", seq: 3, step: 12, kind: "nc", source: "recovered by nc (phase 1)", target_class: 1, trigger_region: "trigger patch (its mask)" });
  m.apply({ type: "evaluation", seq: 4, step: 0, label: "before (recovered trigger)", asr: 97, ca: 90 });
  assert.equal(m.targetClass, 1);
  assert.equal(m.triggerUnknown, false);
  assert.equal(m.triggerLabel("ASR"), "ASR (recovered trigger)");
  assert.equal(m.before().asr, 97);
});

test("a run's setup names a user's model and what is known of its trigger", () => {
  assert.equal(setupText({ data: { name: "cifar10" }, model: { name: "resnet18" }, attack: { kind: "badnets" } }), "cifar10 · resnet18 · badnets");
  assert.equal(
    setupText({ data: { name: "imagefolder" }, model: { name: "resnet18", source: "file" }, attack: { kind: "badnets", known: false } }),
    "imagefolder · resnet18 (your file) · trigger unknown",
  );
  assert.equal(
    setupText({ data: { name: "cifar10" }, model: { name: "preact_resnet18", source: "backdoorbench" }, attack: {} }),
    "cifar10 · preact_resnet18 (BackdoorBench file) · its triggered test set",
  );
});
