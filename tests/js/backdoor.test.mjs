// The run view's backdoor-connected path and "where triggered images go": the event model's
// part (paths kept once, triggered-class counts by step) and the charts' pure logic.

import assert from "node:assert/strict";
import { test } from "node:test";

import "./options.mjs";
import { RunModel } from "../../frontend/js/run/model.js";
import { pathLabel, pathTraces } from "../../frontend/js/run/charts/path.js";
import { triggeredShares } from "../../frontend/js/run/charts/triggered.js";

const RUN = {
  id: "r1",
  name: "t",
  status: "running",
  step: 0,
  total_steps: 40,
  schedule: [
    { kind: "fst", steps: 20 },
    { kind: "qra", steps: 20 },
  ],
  config: { data: { test_size: 200 } },
};

const ALPHAS = [0, 0.5, 1];
function path(step, label, extra = {}) {
  return { type: "path", step, phase_index: 0, label, request_id: "", alphas: ALPHAS, asr: [100, 40, 2], ca: [90, 70, 85], seconds: 1.5, ...extra };
}

test("a path is kept once, whether the POST answer or the stream event comes first", () => {
  const m = new RunModel(RUN);
  m.apply({ ...path(20, "phase 1 (fst)"), seq: 30 });
  assert.equal(m.paths.length, 1);
  // the answer of POST /path first (no seq on it is assumed), then its stream event
  assert.equal(m.addPath(path(27, "on request at step 27", { request_id: "q1" })), true);
  m.apply({ ...path(27, "on request at step 27", { request_id: "q1" }), seq: 41 });
  assert.equal(m.paths.length, 2);
  assert.equal(m.paths[1].seq, 41); // the stream's seq is kept
  // the stream event first, then the answer (same request id): nothing new
  m.apply({ ...path(33, "on request at step 33", { request_id: "q2" }), seq: 50 });
  assert.equal(m.addPath(path(33, "on request at step 33", { request_id: "q2", seq: 50 })), false);
  // a stored run's replay sends its events again after a reconnect: same seq, kept once
  m.apply({ ...path(20, "phase 1 (fst)"), seq: 30 });
  assert.deepEqual(m.paths.map((p) => p.step), [20, 27, 33]);
  assert.equal(m.addPath({ step: 3 }), false); // not a path
});

test("the path shown follows the slider: the newest at or before its step", () => {
  const m = new RunModel(RUN);
  m.apply({ ...path(40, "phase 2 (qra)"), seq: 9 });
  m.apply({ ...path(20, "phase 1 (fst)"), seq: 5 }); // out of order
  assert.equal(m.pathAt().step, 40);
  assert.equal(m.pathAt(39).step, 20);
  assert.equal(m.pathAt(40).step, 40);
  assert.equal(m.pathAt(10), null);
});

test("the path chart draws the shown path bold and earlier ones faint, under one legend entry", () => {
  const a = { ...path(20, "phase 1 (fst)"), seq: 5 };
  const b = { ...path(40, "phase 2 (qra)"), seq: 9 };
  const traces = pathTraces([a, b], b);
  assert.deepEqual(traces.map((t) => t.name), ["earlier (1)", "ASR, phase 1 (fst), step 20", "CA, phase 1 (fst), step 20", "ASR", "CA"]);
  assert.equal(traces.filter((t) => t.showlegend !== false).length, 3);
  assert.ok(traces.slice(1, 3).every((t) => t.opacity < 0.5 && t.legendgroup === "earlier"));
  // the slider on the first: the later one is not drawn
  assert.deepEqual(pathTraces([a, b], a).map((t) => t.name), ["ASR", "CA"]);
  // no trigger known: CA only
  const unknown = { ...a, asr: [null, null, null] };
  assert.deepEqual(pathTraces([unknown], unknown).map((t) => t.name), ["CA"]);
  assert.deepEqual(pathTraces([], null), []);
  assert.equal(pathLabel(path(57, "on request at step 57")), "on request at step 57");
  assert.equal(pathLabel(path(60, "phase 2 (pam)")), "phase 2 (pam), step 60");
});

test("triggered-class counts come from measurements and evaluations, the full set winning a step", () => {
  const m = new RunModel(RUN);
  m.apply({ type: "evaluation", seq: 1, step: 0, label: "before", asr: 99, ca: 90, triggered_classes: [9, 1, 0] });
  m.apply({ type: "measurement", seq: 3, step: 5, phase_index: 0, asr: 50, triggered_classes: [2, 2, 0] });
  m.apply({ type: "measurement", seq: 2, step: 3, phase_index: 0, tar_median: 1.2, triggered_classes: null });
  m.apply({ type: "measurement", seq: 4, step: 20, phase_index: 0, asr: 0, triggered_classes: [0, 1, 3] });
  m.apply({ type: "evaluation", seq: 5, step: 20, label: "phase 1 (fst)", asr: 0, triggered_classes: [0, 10, 30] });
  const points = m.triggeredClasses();
  assert.deepEqual(points.map((p) => [p.step, p.full, p.counts]), [
    [0, true, [9, 1, 0]],
    [5, false, [2, 2, 0]],
    [20, true, [0, 10, 30]],
  ]);
});

test("shares stack to 100%, the target first; past a few classes the rest is one band", () => {
  const classes = ["zero", "one", "two"];
  const few = triggeredShares([{ step: 0, counts: [9, 1, 0] }, { step: 5, counts: [2, 2, 0] }, { step: 9, counts: [0, 0, 0] }], 0, classes);
  assert.deepEqual(few.steps, [0, 5]); // a step with no images is left out
  assert.deepEqual(few.groups.map((g) => g.name), ["zero (target)", "one"]); // "two" never took any
  assert.deepEqual(few.groups[0].shares, [90, 50]);
  assert.deepEqual(few.groups[1].counts, [1, 2]);

  // ten classes, target 3: the target, the four others that ever took most, the rest grouped
  const counts = (hot) => Array.from({ length: 10 }, (_, c) => (c === hot ? 50 : 5));
  const many = triggeredShares([0, 1, 2, 4, 5, 6].map((hot, i) => ({ step: i, counts: counts(hot) })), 3, null);
  assert.deepEqual(many.groups.map((g) => g.key), ["target", "class-0", "class-1", "class-2", "class-4", "rest"]);
  assert.equal(many.groups[0].name, "class 3 (target)");
  assert.deepEqual(many.groups[5].classes, [5, 6, 7, 8, 9]);
  assert.equal(many.groups[5].name, "other classes (5)");
  many.steps.forEach((_, i) => {
    const total = many.groups.reduce((a, g) => a + g.shares[i], 0);
    assert.ok(Math.abs(total - 100) < 1e-9);
  });
  assert.deepEqual(triggeredShares([], 0, classes).groups, []);
});
