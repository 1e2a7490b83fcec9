// core/search.js: the page's one binary search.
import { test } from "node:test";
import assert from "node:assert/strict";

import { lastAtOrBefore } from "../../frontend/js/core/search.js";

test("the last index at or before a value, -1 before the first", () => {
  const steps = [0, 5, 5, 9, 20];
  assert.equal(lastAtOrBefore(steps, -1), -1);
  assert.equal(lastAtOrBefore(steps, 0), 0);
  assert.equal(lastAtOrBefore(steps, 5), 2); // the last of equal values
  assert.equal(lastAtOrBefore(steps, 8), 2);
  assert.equal(lastAtOrBefore(steps, 100), 4);
  assert.equal(lastAtOrBefore([], 3), -1);
});

test("a key reads the value of each item", () => {
  const events = [{ step: 2 }, { step: 4 }, { step: 7 }];
  assert.equal(lastAtOrBefore(events, 6, (e) => e.step), 1);
  // it agrees with a linear scan on every position
  const xs = Array.from({ length: 50 }, (_, i) => Math.floor(i / 3));
  for (let x = -2; x < 20; x += 0.5) {
    let want = -1;
    xs.forEach((v, i) => (v <= x ? (want = i) : null));
    assert.equal(lastAtOrBefore(xs, x), want);
  }
});
