// Unit tests of the compare view's pure logic: seed bands, the API's numbers in the tables
// (the page computes no score: tests/config/test_scores.py checks them in Python), sweep
// values.

import assert from "node:assert/strict";
import { test } from "node:test";

import "./options.mjs";
import { bandOf, measuredSeries } from "../../frontend/js/compare/charts.js";
import { atStepOf, headlineOf } from "../../frontend/js/compare/table.js";
import { RunModel } from "../../frontend/js/run/model.js";
import { parseValues } from "../../frontend/js/form/sweep.js";

test("a seed band is the mean, min and max of the runs carried forward", () => {
  const band = bandOf([
    { steps: [0, 10, 20], values: [90, 50, 10] },
    { steps: [0, 5, 10], values: [80, 60, 40] },
  ]);
  assert.deepEqual(band.steps, [0, 5, 10, 20]);
  assert.deepEqual(band.mean, [85, 75, 45, 10]); // step 20: only the first run reaches it
  assert.deepEqual(band.lo, [80, 60, 40, 10]);
  assert.deepEqual(band.hi, [90, 90, 50, 10]);
});

test("the tables show the API's numbers: the headline, and the scores at the slider's step", () => {
  const api = { asr_before: 96, asr_after: 4, ca_before: 80, ca_after: 76, retention: 95, der: 0.94, wall_time: 12.5, steps_to_asr10: 10, asr_retuned: 60, ca_retuned: 75, asr_qra: 30, der_retuned: 0.66 };
  const h = headlineOf(api);
  assert.equal(h.der, 0.94);
  assert.equal(h.wall, 12.5);
  assert.equal(h.gone, 10);
  assert.equal(h.asr_retuned, 60);
  assert.equal(h.asr_qra, 30);
  assert.equal(h.der_retuned, 0.66);
  assert.equal(headlineOf({ der: 0.5 }).asr_retuned, undefined);
  const scores = [
    { step: 0, asr: 96, ca: 80, der: 0.5 },
    { step: 5, asr: 40, ca: 79, der: 0.775 },
    { step: 10, asr: 9.5, ca: 78, der: 0.9425 },
  ];
  assert.deepEqual(atStepOf(scores, 7), { ...scores[1], step: 7 });
  assert.equal(atStepOf(scores, 10).asr, 9.5);
  assert.deepEqual(atStepOf([], 3), { step: 3 });
});

test("the measured series of a run model", () => {
  const m = new RunModel({ id: "r", name: "r", status: "running", step: 0, total_steps: 20, schedule: [{ kind: "ascent", steps: 20 }], config: {} });
  let seq = 0;
  const ev = (e) => m.apply({ seq: ++seq, t: 1000 + seq, ...e });
  ev({ type: "evaluation", step: 0, label: "before", asr: 96, ca: 80, tar_median: 3 });
  for (let s = 1; s <= 20; s++) ev({ type: "step", step: s, phase_index: 0, phase_step: s, kind: "ascent", ce_loss: 1 });
  ev({ type: "measurement", step: 5, phase_index: 0, asr: 40, ca: 79 });
  ev({ type: "measurement", step: 10, phase_index: 0, asr: 9.5, ca: 78 });
  ev({ type: "evaluation", step: 20, label: "final", asr: 4, ca: 76, tar_median: 1.1 });
  ev({ type: "run_finished", step: 20, before: { asr: 96, ca: 80 }, after: { asr: 4, ca: 76, ra: 70 }, wall_time: 12.5 });
  assert.deepEqual(measuredSeries(m, "asr").steps, [0, 5, 10, 20]);
});

test("sweep values: numbers, words and JSON lists, split at top-level commas", () => {
  assert.deepEqual(parseValues("0, 1, 2"), [0, 1, 2]);
  assert.deepEqual(parseValues("demo, paper"), ["demo", "paper"]);
  assert.deepEqual(parseValues('tiny, [{"kind": "recovery", "steps": 3}]'), ["tiny", [{ kind: "recovery", steps: 3 }]]);
  assert.deepEqual(parseValues(" , "), []);
});

test("a recovered trigger's before point is not joined to the first measurement after it", () => {
  const m = new RunModel({ id: "r", name: "r", status: "completed", step: 0, total_steps: 20, schedule: [], config: {} });
  m.apply({ type: "evaluation", seq: 1, step: 0, label: "before", asr: null, ca: 90 });
  m.apply({ type: "trigger_found", seq: 2, step: 10, kind: "nc", source: "recovered by nc (phase 1)", target_class: 0, trigger_region: "" });
  m.apply({ type: "evaluation", seq: 3, step: 0, label: "before (recovered trigger)", asr: 98, ca: 90 });
  m.apply({ type: "measurement", seq: 4, step: 12, asr: 5, ca: 88 });
  assert.deepEqual(measuredSeries(m, "asr"), { steps: [0, 0.5, 12], values: [98, null, 5] });
  assert.deepEqual(measuredSeries(m, "ca"), { steps: [0, 12], values: [90, 88] });
});
