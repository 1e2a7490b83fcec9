// The compare view's backdoor-connected path: which path of each run is the defended
// model's (before the closing attack phases), the re-tuned one, and the chart's traces.

import assert from "node:assert/strict";
import { test } from "node:test";

import "./options.mjs";
import { closingAttacksFrom, comparePathTraces, isAttackKind, pathsNote, runPaths } from "../../frontend/js/compare/path.js";
import { RunModel } from "../../frontend/js/run/model.js";

const SCHEDULE = [
  { kind: "ascent", steps: 10 },
  { kind: "recovery", steps: 20 },
  { kind: "qra", steps: 20 },
  { kind: "relearn", steps: 10 },
];

function path(step, phase, label, asr = [100, 40, 2]) {
  return { type: "path", step, phase_index: phase, label, request_id: "", alphas: [0, 0.5, 1], asr, ca: [90, 70, 85], seconds: 1 };
}

function run(id, schedule, paths, extra = {}) {
  const model = new RunModel({ id, name: `run ${id}`, status: "completed", step: 60, total_steps: 60, schedule, config: {} });
  paths.forEach((p, i) => model.apply({ ...p, seq: i + 1 }));
  return { id, name: `run ${id}`, model, color: "#0072B2", dash: "solid", ...extra };
}

test("the closing attack phases start after the last defence phase", () => {
  assert.equal(isAttackKind("relearn"), true);
  assert.equal(isAttackKind("qra"), true);
  assert.equal(isAttackKind("recovery"), false);
  assert.equal(closingAttacksFrom(SCHEDULE), 2);
  assert.equal(closingAttacksFrom(SCHEDULE.slice(0, 2)), 2);
  // an attack in the middle does not close the schedule
  assert.equal(closingAttacksFrom([{ kind: "relearn" }, { kind: "recovery" }]), 2);
  assert.equal(closingAttacksFrom([{ kind: "qra" }]), 0);
  assert.equal(closingAttacksFrom([]), 0);
});

test("the defended path is the last one before the closing attacks; the re-tuned one after relearn", () => {
  const paths = [
    path(10, 0, "phase 1 (ascent)"),
    path(22, 1, "on request at step 22"),
    path(30, 1, "phase 2 (recovery)"),
    path(50, 2, "phase 3 (qra)"), // qra changes no weight: not the re-tuned model
    path(60, 3, "phase 4 (relearn)", [100, 90, 80]),
  ];
  const { defended, retuned } = runPaths(paths, SCHEDULE);
  assert.equal(defended.step, 30);
  assert.equal(retuned.step, 60);
  // still in its defence: the newest so far; no attack yet, nothing re-tuned
  assert.deepEqual(runPaths(paths.slice(0, 2), SCHEDULE), { defended: paths[1], retuned: null });
  // qra alone closes the schedule: nothing re-tuned
  assert.equal(runPaths(paths.slice(0, 4), SCHEDULE.slice(0, 3)).retuned, null);
  // no attack phase: the last path is the defended model's
  assert.equal(runPaths(paths.slice(0, 3), SCHEDULE.slice(0, 2)).defended.step, 30);
  assert.deepEqual(runPaths([], SCHEDULE), { defended: null, retuned: null });
});

test("each run's defended path in its colour, ASR solid and CA dotted, the re-tuned ASR faint", () => {
  const a = run("a", SCHEDULE, [path(30, 1, "phase 2 (recovery)"), path(60, 3, "phase 4 (relearn)", [100, 90, 80])]);
  const b = run("b", SCHEDULE.slice(0, 2), [path(30, 1, "phase 2 (recovery)", [null, null, null])], { color: "#D55E00", dash: "dash" });
  const none = run("c", SCHEDULE, []);
  const traces = comparePathTraces([a, b, none]);
  assert.deepEqual(traces.map((t) => t.name), [
    "run a: ASR",
    "run a: CA",
    "run a: ASR after re-tuning",
    "run b: CA", // its trigger unknown: no ASR
    "ASR (solid)",
    "CA (dotted)",
    "ASR after re-tuning (faint)",
  ]);
  const [asr, ca, faint, caB] = traces;
  assert.equal(asr.line.color, "#0072B2");
  assert.equal(asr.line.dash, undefined);
  assert.equal(ca.line.dash, "dot");
  assert.ok(faint.opacity < 0.5);
  assert.deepEqual(faint.y, [100, 90, 80]);
  assert.equal(caB.line.color, "#D55E00");
  assert.equal(caB.marker.symbol, "square"); // a repeated colour is told apart by its marker
  assert.ok(traces.slice(0, 4).every((t) => t.showlegend === false));
  assert.deepEqual(comparePathTraces([none]), []);
  assert.equal(pathsNote([a, b, none]), "run a: phase 2 (recovery), step 30; faint: phase 4 (relearn), step 60 · run b: phase 2 (recovery), step 30");
});
