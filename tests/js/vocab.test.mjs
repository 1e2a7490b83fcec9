// The page's vocabularies come from GET /api/options (written to a file by
// test_js_units.py): state tests, and phase colours by the kind's place in the registry.

import assert from "node:assert/strict";
import { test } from "node:test";

import { OPTIONS } from "./options.mjs";
import { isActive, isLive, isTerminal, phaseKind, closeCode } from "../../frontend/js/core/vocab.js";
import { chartSpecs, phaseColor } from "../../frontend/js/run/charts/specs.js";

test("run states come from the server's lists", () => {
  for (const s of OPTIONS.states.all) {
    assert.equal(isLive(s), OPTIONS.states.live.includes(s), s);
    assert.equal(isActive(s), OPTIONS.states.active.includes(s), s);
    assert.equal(isTerminal(s), OPTIONS.states.terminal.includes(s), s);
  }
  assert.equal(isLive("queued"), true);
  assert.equal(isActive("queued"), false);
  assert.equal(closeCode("gone"), OPTIONS.close_codes.gone);
});

test("ascent and recovery keep their colours; an unknown kind gets the spare one", () => {
  assert.equal(phaseKind("ascent").uses_forget_set, true);
  assert.deepEqual([phaseColor("ascent").line, phaseColor("ascent").fill()], ["#D55E00", "rgba(213, 94, 0, 0.09)"]);
  assert.deepEqual([phaseColor("recovery").line, phaseColor("recovery").fill()], ["#0072B2", "rgba(0, 114, 178, 0.08)"]);
  assert.equal(phaseColor("no_such_kind").fill(), "rgba(0, 158, 115, 0.08)");
});

test("the loss chart has one cross-entropy line per registered kind", () => {
  const loss = chartSpecs().find((c) => c.id === "loss");
  const names = loss.traces.map((t) => t.name);
  assert.deepEqual(names, [
    ...OPTIONS.phase_kinds.map((k) => `${k.kind} CE (${k.uses_forget_set ? "forget" : k.finds_forget_set ? "training" : "clean"} set)`),
    "EWC penalty (right axis)",
  ]);
  const ascent = loss.traces[0];
  assert.equal(ascent.from({ kind: "ascent", ce_loss: 1.5 }), 1.5);
  assert.equal(ascent.from({ kind: "recovery", ce_loss: 1.5 }), undefined);
});
