// Unit tests of the compare view's pure logic: DER (the same numbers as
// tests/api/test_compare_sweeps.py checks in Python), seed bands, headlines, sweep values.

import assert from "node:assert/strict";
import { test } from "node:test";

import "./options.mjs";
import { bandOf, measuredSeries } from "../../frontend/js/compare/charts.js";
import { atStepOf, der, headlineOf } from "../../frontend/js/compare/table.js";
import { RunModel } from "../../frontend/js/run/model.js";
import { parseValues } from "../../frontend/js/form/sweep.js";

test("DER on known numbers, as comparison.der", () => {
  assert.equal(der({ asr: 100, ca: 90 }, { asr: 0, ca: 90 }), 1);
  assert.equal(der({ asr: 50, ca: 90 }, { asr: 50, ca: 90 }), 0.5);
  assert.ok(Math.abs(der({ asr: 100, ca: 90 }, { asr: 0, ca: 80 }) - 0.95) < 1e-12);
  assert.equal(der({ asr: 10, ca: 90 }, { asr: 20, ca: 95 }), 0.5);
  assert.equal(der({ asr: null, ca: 90 }, { asr: 0, ca: 80 }), null);
});

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

test("headline and at-step numbers of a run model", () => {
  const m = new RunModel({ id: "r", name: "r", status: "running", step: 0, total_steps: 20, schedule: [{ kind: "ascent", steps: 20 }], config: {} });
  let seq = 0;
  const ev = (e) => m.apply({ seq: ++seq, t: 1000 + seq, ...e });
  ev({ type: "evaluation", step: 0, label: "before", asr: 96, ca: 80, tar_median: 3 });
  for (let s = 1; s <= 20; s++) ev({ type: "step", step: s, phase_index: 0, phase_step: s, kind: "ascent", ce_loss: 1 });
  ev({ type: "measurement", step: 5, phase_index: 0, asr: 40, ca: 79 });
  ev({ type: "measurement", step: 10, phase_index: 0, asr: 9.5, ca: 78 });
  ev({ type: "evaluation", step: 20, label: "final", asr: 4, ca: 76, tar_median: 1.1 });
  ev({ type: "run_finished", step: 20, before: { asr: 96, ca: 80 }, after: { asr: 4, ca: 76, ra: 70 }, wall_time: 12.5 });
  const h = headlineOf(m);
  assert.equal(h.gone, 10);
  assert.ok(Math.abs(h.der - (0.92 - 0.04 + 1) / 2) < 1e-12);
  assert.equal(h.retention, 95);
  assert.equal(h.ra_after, 70);
  assert.equal(h.wall, 12.5);
  const at = atStepOf(m, 7);
  assert.equal(at.asr, 40);
  assert.equal(at.ca, 79);
  assert.deepEqual(measuredSeries(m, "asr").steps, [0, 5, 10, 20]);
});

test("sweep values: numbers, words and JSON lists, split at top-level commas", () => {
  assert.deepEqual(parseValues("0, 1, 2"), [0, 1, 2]);
  assert.deepEqual(parseValues("demo, paper"), ["demo", "paper"]);
  assert.deepEqual(parseValues('tiny, [{"kind": "recovery", "steps": 3}]'), ["tiny", [{ kind: "recovery", steps: 3 }]]);
  assert.deepEqual(parseValues(" , "), []);
});
