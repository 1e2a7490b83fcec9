// The heatmap pixels: weak attention stays transparent in the default view, and the
// change view tells where attention left (blue) from where it arrived (orange).

import assert from "node:assert/strict";
import { test } from "node:test";

import { cellPixels, spotAlpha } from "../../../frontend/js/heatdraw.js";

const GREY = new Uint8Array([200, 200, 200]); // one light-grey RGB pixel

test("hot spots: weak attention leaves the (grey) image as it is, strong attention colours it", () => {
  const weak = cellPixels({ image: GREY, heat: new Uint8Array([20]), size: 1, view: "spots" });
  const strong = cellPixels({ image: GREY, heat: new Uint8Array([250]), size: 1, view: "spots" });
  assert.equal(weak.length, 4); // RGBA
  assert.equal(weak[0], weak[1]); // grey: no colour
  assert.equal(weak[1], weak[2]);
  assert.ok(strong[0] - strong[2] > 40, `strong attention is coloured: ${[...strong]}`);
  assert.equal(spotAlpha(0.2), 0);
  assert.ok(spotAlpha(0.9) > spotAlpha(0.6));
});

test("change: blue where attention left, orange where it arrived, grey where it stayed", () => {
  const draw = (before, now) =>
    cellPixels({ image: GREY, heat: new Uint8Array([now]), before: new Uint8Array([before]), size: 1, view: "change" });
  const left = draw(255, 0);
  const came = draw(0, 255);
  const same = draw(128, 130);
  assert.ok(left[2] > left[0] + 60, `left is blue: ${[...left]}`);
  assert.ok(came[0] > came[2] + 60, `arrived is orange: ${[...came]}`);
  assert.equal(same[0], same[2]);
});
