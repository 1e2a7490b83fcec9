// run/monitorprice.js: the live monitor's price line in words.
import { test } from "node:test";
import assert from "node:assert/strict";

import { densityText, priceText } from "../../frontend/js/run/monitorprice.js";

test("density in words", () => {
  assert.equal(densityText(1), "heatmaps on every step");
  assert.equal(densityText(0.5), "heatmaps on 1 step in 2");
  assert.equal(densityText(0.3), "heatmaps on 1 step in 3");
  assert.equal(densityText(0), "no heatmaps lately");
  assert.equal(densityText(null), "no heatmaps lately");
});

test("the price, the density and how far behind", () => {
  const s = { budget: 5, slowdown: 3.6, frames_per_step: 0.5, behind: 0, waiting: 0 };
  assert.equal(priceText(s, 5), "Monitoring costs ~4% of training (budget 5%); heatmaps on 1 step in 2");
  assert.equal(
    priceText({ ...s, slowdown: 0.42, behind: 7, waiting: 2 }, 5),
    "Monitoring costs ~0.4% of training (budget 5%); heatmaps on 1 step in 2; behind by 7 steps (2 ASR/CA measurements waiting)",
  );
  assert.match(priceText({ ...s, slowdown: null }, 5), /^Measuring what monitoring costs \(budget 5%\)/);
  assert.match(priceText(null, 5), /up to 5% of training; measuring/);
});

test("an ended run: what it cost at its last report, nothing behind", () => {
  const s = { budget: 5, slowdown: 4.6, frames_per_step: 0.34, behind: 171, waiting: 35 };
  assert.equal(
    priceText(s, 5, "completed"),
    "At its last report, monitoring cost ~5% of training (budget 5%); heatmaps on 1 step in 3; every exact ASR/CA was measured before the end.",
  );
  assert.equal(priceText(s, 5, "stopped"), "At its last report, monitoring cost ~5% of training (budget 5%); heatmaps on 1 step in 3.");
  assert.doesNotMatch(priceText(s, 5, "completed"), /behind/);
  assert.match(priceText({ ...s, slowdown: null }, 5, "failed"), /^Monitoring's cost was not measured yet when the run ended/);
});
