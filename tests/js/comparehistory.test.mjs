// The compare view's history over HTTP (compare/history.js): every stored event applied in
// seq order, a page at a time, probe images with their bytes, heatmap frames without them
// (their maps come many at once from GET /frames/maps); a request that fails ends the
// loading at the last event applied, so the stream sends the rest. And the localisation
// charts on their whole range, saying so.

import assert from "node:assert/strict";
import { test } from "node:test";

import "./options.mjs";
import { extraSpec, scaleNote } from "../../frontend/js/compare/charts.js";
import { loadFrameMaps, loadHistory } from "../../frontend/js/compare/history.js";
import { RunModel } from "../../frontend/js/run/model.js";

const json = (body) => new Response(JSON.stringify(body), { status: 200, headers: { "content-type": "application/json" } });

/** A fetch that answers from `routes` (path -> Response | () => Response) and logs what was asked. */
function fakeFetch(routes) {
  const asked = [];
  globalThis.fetch = async (path) => {
    asked.push(path);
    const answer = routes[path];
    if (!answer) return json({ detail: `no ${path}` }, 404);
    return typeof answer === "function" ? answer() : answer;
  };
  return asked;
}

/** The server's binary frame: [uint32 N][N bytes JSON header][parts in header.parts order]. */
function packFrame(header, parts) {
  const head = new TextEncoder().encode(JSON.stringify({ ...header, parts: parts.map(([n, b]) => [n, b.length]) }));
  const out = new Uint8Array(4 + head.length + parts.reduce((s, [, b]) => s + b.length, 0));
  new DataView(out.buffer).setUint32(0, head.length, false);
  out.set(head, 4);
  let at = 4 + head.length;
  for (const [, b] of parts) {
    out.set(b, at);
    at += b.length;
  }
  return out.buffer;
}

const EVENTS = [
  { seq: 1, type: "status", t: 1, status: "running" },
  { seq: 2, type: "probes", t: 1, indices: [7], labels: [3], size: 1, parts: [["images", 6]], bytes_url: "/api/runs/r1/events/2/bytes" },
  { seq: 3, type: "frames", t: 1, step: 0, size: 1, count: 1, preds: [[0, 0]], confs: [[1, 1]], tars: [1], parts: [["maps", 2]], bytes_url: "/api/runs/r1/events/3/bytes" },
  { seq: 4, type: "step", t: 2, step: 1, phase_index: 0, phase_step: 1, kind: "ascent", ce_loss: 2.0 },
  { seq: 5, type: "measurement", t: 2, step: 1, phase_index: 0, asr: 50, rank_accuracy: 0.004 },
  { seq: 6, type: "frames", t: 2, step: 1, size: 1, count: 1, preds: [[0, 1]], confs: [[1, 1]], tars: [1], parts: [["maps", 2]], bytes_url: "/api/runs/r1/events/6/bytes" },
];
const page = (after, limit) => `/api/runs/r1/events?after=${after}&limit=${limit}`;

test("the history is applied in seq order, a page at a time; frames come without their bytes", async () => {
  const asked = fakeFetch({
    [page(0, 4)]: json({ events: EVENTS.slice(0, 4) }),
    [page(4, 4)]: json({ events: EVENTS.slice(4) }),
    "/api/runs/r1/events/2/bytes": new Response(new Uint8Array([1, 2, 3, 4, 5, 6])),
  });
  const model = new RunModel({ id: "r1", status: "completed" });
  const last = await loadHistory(model, { page: 4 });
  assert.equal(last, 6);
  assert.deepEqual(model.steps.map((s) => s.step), [1]);
  assert.equal(model.measurements[0].asr, 50);
  assert.deepEqual([...model.probes.images], [1, 2, 3, 4, 5, 6]); // its bytes, attached
  assert.deepEqual(model.frameSteps, [0, 1]);
  assert.equal(model.frames.get(1).maps, null); // fetched with the others, not one by one
  assert.equal(model.frames.get(1).count, 1);
  assert.ok(!asked.some((p) => p.includes("/events/3/") || p.includes("/events/6/")), asked);
});

test("a failed page ends the loading at the last event applied (the stream sends the rest)", async () => {
  fakeFetch({
    [page(0, 4)]: json({ events: EVENTS.slice(0, 4) }),
    "/api/runs/r1/events/2/bytes": new Response(new Uint8Array(6)),
  });
  const warn = console.warn;
  console.warn = () => {};
  try {
    const model = new RunModel({ id: "r1", status: "completed" });
    assert.equal(await loadHistory(model, { page: 4 }), 4);
    assert.equal(model.steps.length, 1);
  } finally {
    console.warn = warn;
  }
});

test("frame maps arrive many at once and go onto the frames the history listed", async () => {
  fakeFetch({
    [page(0, 10)]: json({ events: EVENTS }),
    "/api/runs/r1/events/2/bytes": new Response(new Uint8Array(6)),
    "/api/runs/r1/frames/maps?after=0": () => new Response(packFrame({ frames: [[3, 0]], more: true }, [["3", new Uint8Array([9, 8])]])),
    "/api/runs/r1/frames/maps?after=3": () => new Response(packFrame({ frames: [[6, 1]], more: false }, [["6", new Uint8Array([7, 6])]])),
  });
  const model = new RunModel({ id: "r1", status: "completed" });
  await loadHistory(model, { page: 10 });
  assert.equal(await loadFrameMaps(model), 2);
  assert.deepEqual([...model.frames.get(0).maps], [9, 8]);
  assert.deepEqual([...model.frames.get(1).maps], [7, 6]);
});

test("a localisation metric is drawn on its whole range, and the chart says what the values reach", () => {
  const spec = extraSpec("rank_accuracy");
  assert.deepEqual(spec.scale, [0, 1]);
  assert.match(spec.title, /Relevance rank accuracy/);
  assert.equal(extraSpec("auc").refY, 0.5); // chance
  assert.equal(extraSpec("ra").scale, undefined); // robust accuracy: percent, as ASR
  const model = new RunModel({ id: "r1", status: "completed" });
  model.apply({ seq: 1, type: "measurement", t: 1, step: 5, phase_index: 0, rank_accuracy: 0.0041 });
  model.apply({ seq: 2, type: "measurement", t: 1, step: 9, phase_index: 0, rank_accuracy: 0.002 });
  assert.equal(scaleNote(spec, [{ model }]), "The axis shows the metric's whole range, 0 to 1; the highest value here is 0.0041.");
});
