// What the heatmap views share: a probe's images and region out of the probes event, the
// before / now / change columns and the clean / triggered rows, a probe's cells, whether
// the backdoor fires on it.

import { api } from "../../core/api.js";
import { h } from "../../core/dom.js";

/** Probe p's trigger region (S*S uint8, 1 inside), or null when none was sent. */
export function probeRegion(probes, p) {
  if (!probes?.region) return null;
  const n = probes.size * probes.size;
  return probes.region.subarray(p * n, (p + 1) * n);
}

/** One probe image (variant 0 clean, 1 triggered) out of the (P, 2, S, S, 3) block. */
export function probeImage(probes, p, v) {
  const s = probes.size;
  const n = s * s * 3;
  return probes.images.subarray((p * 2 + v) * n, (p * 2 + v + 1) * n);
}

/** Probe p's heatmap of variant v in a frame (S*S uint8), or null. */
export function frameMap(frame, p, v) {
  if (!frame?.maps || p >= frame.count) return null;
  const n = frame.size * frame.size;
  return frame.maps.subarray((p * 2 + v) * n, (p * 2 + v + 1) * n);
}

export const VARIANTS = [
  ["triggered", "with the trigger"],
  ["clean", "clean"],
];
export const VARIANT_INDEX = { clean: 0, triggered: 1 };
export const COLUMNS = ["before", "now", "change"];

/** Cells of one probe: {variant: {column: {canvas, caption, button}}}. */
export function probeCells(index, onClick) {
  const cells = {};
  for (const [variant, title] of VARIANTS) {
    cells[variant] = {};
    for (const col of COLUMNS) {
      const canvas = h("canvas.heat-canvas", { width: 1, height: 1 });
      const caption = h("span.heat-caption");
      const button = h(
        "button.heat",
        {
          type: "button",
          title: `Enlarge test sample ${index}`,
          "aria-label": `Enlarge test sample ${index} (${title}, ${col})`,
          dataset: { variant, col, index: String(index) },
          onclick: onClick,
        },
        canvas,
        caption,
      );
      cells[variant][col] = { canvas, caption, button };
    }
  }
  return cells;
}

/** Whether the backdoor fires on probe p's triggered image in `frame`: null if unknown. */
export function fires(model, frame, p) {
  const pred = frame?.preds?.[p]?.[1];
  if (pred === undefined || pred === null) return null;
  return pred === model.targetClass;
}

export function colTitle(col) {
  return { before: "before unlearning", now: "now", change: "change" }[col];
}

/** Fetch a frame the live stream skipped (or sent without its maps) and fill it in place:
 * size, count, maps and the probes' predictions, confidences and TARs. */
export async function loadFrame(runId, frame) {
  const { meta, maps } = await api.frame(runId, frame.step);
  Object.assign(frame, {
    size: meta.size,
    count: meta.count,
    maps,
    preds: meta.probes.map((p) => p.pred),
    confs: meta.probes.map((p) => p.conf),
    tars: meta.probes.map((p) => p.tar),
    missing: false,
  });
  return frame;
}
