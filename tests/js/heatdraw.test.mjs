// The heatmap pixels: weak attention stays transparent in the default view, and the
// change view tells where attention left (blue) from where it arrived (orange).

import assert from "node:assert/strict";
import { test } from "node:test";

import { cellPixels, spotAlpha } from "../../frontend/js/run/heatmaps/draw.js";

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

test("region contour: the edges around a region's pixels, none inside it", async () => {
  const { regionEdges } = await import("../../frontend/js/run/heatmaps/draw.js");
  // a 2x1 region (pixels (1,1) and (2,1)) in a 4x4 image: 6 unit edges around it
  const region = new Uint8Array(16);
  region[1 * 4 + 1] = 1;
  region[1 * 4 + 2] = 1;
  const edges = regionEdges(region, 4);
  assert.equal(edges.length, 6);
  assert.ok(!edges.some(([x0, y0, x1, y1]) => x0 === 2 && x1 === 2 && y0 === 1 && y1 === 2), "no edge between the two pixels");
  // an L of 3 pixels and a lone pixel at the border: 8 + 4 edges
  const l = new Uint8Array(16);
  [0, 4, 5, 15].forEach((i) => (l[i] = 1));
  assert.equal(regionEdges(l, 4).length, 12);
  assert.equal(regionEdges(new Uint8Array(16), 4).length, 0);
});
