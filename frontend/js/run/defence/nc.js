// Neural Cleanse in the defence view: the anomaly-index chart drawn from the same test as
// the phase's "flagged" line (backend ml/kinds/nc/step.py), and the recovered trigger
// shown the way it acts: stamped on a test image, beside the true trigger on that image.

import { h, fill } from "../../core/dom.js";
import { probeImage } from "../heatmaps/cells.js";

const FLAGGED = "#D55E00";
const CLEAR = "#0072B2";
const SCALE = 4; // a 32-pixel image shown at 128 px

/**
 * Bars of the signed anomaly index, one per class: positive is a trigger smaller than the
 * median class's, the only side Neural Cleanse flags. A bar is drawn as flagged exactly
 * when the phase flagged its class (values.flagged, the test's own answer), so the chart
 * and the text cannot disagree. null when the event predates the signed index.
 */
export function anomalyChart(values, scalars, className) {
  const index = values["anomaly index"];
  const flagged = values.flagged;
  if (!index || !flagged || flagged.length !== index.length) return null;
  const rule = scalars?.rule ?? 2;
  const labels = values.labels || index.map((_, i) => i);
  const cap = 4 * rule; // one class far out would flatten the others: bars stop at 4x the rule
  const traces = [
    {
      type: "bar",
      x: labels.map(className),
      y: index.map((v) => Math.max(-cap, Math.min(v, cap))),
      text: index.map((v) => (Math.abs(v) > cap ? `${v.toPrecision(3)}${v > 0 ? " ↑" : " ↓"}` : "")),
      textposition: "inside",
      customdata: index.map((v, i) => [v, flagged[i] ? "flagged" : "not flagged"]),
      hovertemplate: "%{x}: index %{customdata[0]:.3g}, %{customdata[1]}<extra></extra>",
      marker: { color: flagged.map((f) => (f ? FLAGGED : CLEAR)) },
    },
  ];
  const shapes = [
    { type: "line", xref: "paper", x0: 0, x1: 1, y0: rule, y1: rule, line: { color: FLAGGED, width: 1.5, dash: "dot" } },
    { type: "line", xref: "paper", x0: 0, x1: 1, y0: 0, y1: 0, line: { color: "#7b8794", width: 1 } },
  ];
  const annotations = [
    { xref: "paper", x: 1, y: rule, yanchor: "bottom", xanchor: "right", text: `flagged above ${rule}`, showarrow: false, font: { size: 10, color: FLAGGED } },
  ];
  const yaxis = {
    title: { text: "← larger trigger · smaller →", font: { size: 10 } },
    range: [Math.min(-rule, ...traces[0].y) * 1.1, Math.max(rule * 1.5, ...traces[0].y) * 1.1],
    zeroline: false,
  };
  return { traces, shapes, annotations, yaxis };
}

/** The legend under the anomaly chart, in words. */
export function anomalyNote(values) {
  const n = (values.flagged || []).filter(Boolean).length;
  return (
    "Anomaly index: how far a class's smallest trigger is from the typical class's, in robust standard deviations; " +
    "above 0: smaller than usual (suspicious), below 0: larger (never flagged). " +
    (n ? `Orange: flagged (${n}).` : "No bar is above the line: nothing flagged.")
  );
}

/** (S*S*3) RGB of `image` (S x S) with the recovered trigger stamped: (1 - m) x + m p.
 * `mask` (H*W, 0..1) and `mp` (H*W*3, uint8 m*p) are resampled to S by nearest pixel. */
export function stampRecovered(image, size, mask, mp, side) {
  const out = new Uint8Array(size * size * 3);
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      const src = Math.floor((y * side) / size) * side + Math.floor((x * side) / size);
      const m = mask[src];
      for (let k = 0; k < 3; k++) {
        const i = (y * size + x) * 3 + k;
        out[i] = Math.round((1 - m) * image[i] + mp[src * 3 + k]);
      }
    }
  }
  return out;
}

function paint(canvas, rgb, size) {
  canvas.width = size;
  canvas.height = size;
  canvas.style.width = `${size * SCALE}px`;
  canvas.style.height = `${size * SCALE}px`;
  const ctx = canvas.getContext("2d");
  const img = ctx.createImageData(size, size);
  for (let p = 0; p < size * size; p++) {
    img.data.set([rgb[3 * p], rgb[3 * p + 1], rgb[3 * p + 2], 255], 4 * p);
  }
  ctx.putImageData(img, 0, 0);
}

/**
 * Fill `box` with the recovered trigger on a test image (the first probe) and, when the
 * run knows its attack, the true trigger on the same image. Returns false (nothing drawn)
 * without a mask in the event or without probe images.
 */
export function drawTriggerPair(box, model, e, className) {
  const mask = e.values?.mask;
  const side = e.width;
  const probes = model.probes;
  if (!mask || !probes || !e.image || e.width !== e.height || mask.length !== side * side) return false;
  const size = probes.size;
  const clean = probeImage(probes, 0, 0);
  const recovered = h("canvas.dv-image.dv-recovered", { role: "img" });
  paint(recovered, stampRecovered(clean, size, mask, e.image, side), size);
  const target = e.scalars?.class;
  const who = target === undefined ? "" : ` (class ${className(target)})`;
  recovered.setAttribute("aria-label", `The recovered trigger${who} stamped on a test image`);
  const figures = [figure(recovered, `Recovered trigger${who} on a test image`)];
  if (model.config?.attack?.known !== false) {
    // the probes' triggered images carry the attack's own trigger
    const truth = h("canvas.dv-image.dv-true", { role: "img", "aria-label": "The true trigger stamped on the same image" });
    paint(truth, probeImage(probes, 0, 1), size);
    figures.push(figure(truth, "The true trigger on the same image"));
  }
  fill(box, figures);
  return true;
}

function figure(canvas, caption) {
  return h(
    "figure.dv-figure",
    { style: "margin: 0; display: flex; flex-direction: column; gap: 2px; max-width: 140px;" },
    canvas,
    h("figcaption", { style: "font-size: 11px; color: #52606d; line-height: 1.3;" }, caption),
  );
}

/** Plain explanations of the recovered trigger's numbers. */
export const TRIGGER_NOTES = [
  "|m|₁ = size of the recovered mask in pixels (smaller = more suspicious)",
  "IoU = overlap between the recovered mask and the true trigger area",
];
