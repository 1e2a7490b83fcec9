// The step total every view shows (core/format.js stepsText, planText) and the run list's
// progress (lists/runs.js RunList.progress): status from the newest source, the API's total.
import { test } from "node:test";
import assert from "node:assert/strict";
import { planText, stepsText } from "../../frontend/js/core/format.js";

test("stepsText: live x / total, ended: steps or of planned", () => {
  assert.equal(stepsText(35, 169, true), "35 / 169");
  assert.equal(stepsText(169, 169, false), "169 steps");
  assert.equal(stepsText(120, 169, false), "120 of 169 planned steps");
  assert.equal(stepsText(200, 169, true), "200 / 200"); // never a total below the step
});

test("planText: the schedule as run, an edit marked", () => {
  const plan = {
    edited: true,
    planned_total: 140,
    phases: [
      { kind: "ascent", steps: 40, taken: 9 },
      { kind: "recovery", steps: 50, taken: null },
    ],
  };
  assert.equal(planText(plan), "ascent 9 of 40 → recovery 50 · edited live (planned: 140 steps)");
  assert.equal(planText({ edited: false, phases: [{ kind: "ascent", steps: 4, taken: 4 }] }), "ascent 4");
  assert.equal(planText(null), "–");
});
