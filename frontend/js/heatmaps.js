// Grad-CAM overlays drawn in canvases from the raw uint8 maps and the probe images, and
// the grid of probe samples (clean and triggered) that follows the run or the slider.

import { api } from "./api.js";
import { VIRIDIS, viridisGradient } from "./colormap.js";
import { floorIndex, h, fill, perFrame } from "./dom.js";
import { className, fixed, num } from "./format.js";

const TARGET_PX = 192; // internal canvas size: crisp outline when shown up to ~200 px
const scratch = document.createElement("canvas");

/**
 * Draw one image with its heatmap into `canvas`.
 * image: Uint8Array (S*S*3) RGB; heat: Uint8Array (S*S) or null; box: [x0, y0, x1, y1]
 * (x1, y1 exclusive) or null; view: overlay | heatmap | image; alpha: heatmap weight.
 */
export function drawOverlay(canvas, { image, heat, size, box, view = "overlay", alpha = 0.5 }) {
  const scale = Math.max(1, Math.ceil(TARGET_PX / size));
  scratch.width = size;
  scratch.height = size;
  const sctx = scratch.getContext("2d");
  const out = sctx.createImageData(size, size);
  const a = view === "heatmap" ? 1 : view === "image" || !heat ? 0 : alpha;
  for (let i = 0, n = size * size; i < n; i++) {
    const k = heat ? heat[i] * 3 : 0;
    for (let c = 0; c < 3; c++) {
      const px = image ? image[i * 3 + c] : 0;
      out.data[i * 4 + c] = Math.round((1 - a) * px + a * VIRIDIS[k + c]);
    }
    out.data[i * 4 + 3] = 255;
  }
  sctx.putImageData(out, 0, 0);
  canvas.width = size * scale;
  canvas.height = size * scale;
  const ctx = canvas.getContext("2d");
  ctx.imageSmoothingEnabled = false;
  ctx.drawImage(scratch, 0, 0, size * scale, size * scale);
  if (box) outlineBox(ctx, box, scale);
}

/** The trigger region, outlined just outside its pixels: light halo, dark line. */
function outlineBox(ctx, [x0, y0, x1, y1], scale) {
  const pad = 2;
  const x = x0 * scale - pad;
  const y = y0 * scale - pad;
  const w = (x1 - x0) * scale + 2 * pad;
  const hgt = (y1 - y0) * scale + 2 * pad;
  ctx.lineWidth = 4;
  ctx.strokeStyle = "rgba(255, 255, 255, 0.95)";
  ctx.strokeRect(x, y, w, hgt);
  ctx.lineWidth = 2;
  ctx.strokeStyle = "#111";
  ctx.strokeRect(x, y, w, hgt);
}

/** One probe image (variant 0 clean, 1 triggered) out of the (P, 2, S, S, 3) block. */
export function probeImage(probes, p, v) {
  const s = probes.size;
  const n = s * s * 3;
  return probes.images.subarray((p * 2 + v) * n, (p * 2 + v + 1) * n);
}

function frameMap(frame, p, v) {
  const n = frame.size * frame.size;
  return frame.maps.subarray((p * 2 + v) * n, (p * 2 + v + 1) * n);
}

const VARIANTS = ["clean", "triggered"];

export class HeatmapGrid {
  constructor(root, model, { onInspect }) {
    this.root = root;
    this.model = model;
    this.onInspect = onInspect;
    this.step = null; // null: follow the newest frame
    this.view = "overlay";
    this.alpha = 0.5;
    this.cards = [];
    this.fetching = new Set();
    this.failed = new Set(); // steps whose frame could not be fetched (retried on the next seek)
    this.render = perFrame(() => this.draw());
    this.buildToolbar();
    this.body = h("div.probe-grid", { role: "list" });
    this.status = h("p.grid-status");
    root.append(this.toolbar, this.status, this.body);
    this.unsubscribe = model.subscribe((e) => {
      if (e.type === "probes" || e.type === "run_started") this.build();
      if (e.type === "frames" || e.type === "probes" || e.type === "status") this.render();
    });
    this.build();
    this.render();
  }

  destroy() {
    this.unsubscribe();
  }

  buildToolbar() {
    const select = h(
      "select#grid-view",
      { "aria-label": "What the images show", onchange: (e) => this.setView(e.target.value) },
      h("option", { value: "overlay" }, "Image + Grad-CAM"),
      h("option", { value: "heatmap" }, "Grad-CAM only"),
      h("option", { value: "image" }, "Image only"),
    );
    const opacity = h("input#grid-alpha", {
      type: "range",
      min: "0.1",
      max: "0.9",
      step: "0.05",
      value: String(this.alpha),
      "aria-label": "Heatmap opacity",
      oninput: (e) => {
        this.alpha = Number(e.target.value);
        this.render();
      },
    });
    this.stepLabel = h("span.grid-step");
    this.toolbar = h(
      "div.panel-tools",
      this.stepLabel,
      h("label.inline", "Show ", select),
      h("label.inline", "Opacity ", opacity),
      h(
        "span.legend",
        h("span.legend-ramp", { style: { background: viridisGradient() } }),
        h("span.muted", "low → high attention"),
        h("span.legend-box"),
        h("span.muted", "trigger"),
      ),
    );
  }

  setView(view) {
    this.view = view;
    this.render();
  }

  /** Show the frame at or before `step`; null follows the run. */
  show(step) {
    this.step = step;
    this.failed.clear();
    this.render();
  }

  build() {
    const { probes, classes } = this.model;
    if (!probes || this.cards.length === probes.indices.length) return;
    this.cards = probes.indices.map((index, p) => {
      const label = probes.labels[p];
      const cells = VARIANTS.map((variant, v) => {
        const canvas = h("canvas.heat-canvas", { width: 1, height: 1 });
        const caption = h("span.heat-caption");
        const button = h(
          "button.heat",
          {
            type: "button",
            title: `Inspect test sample ${index}`,
            "aria-label": `Inspect test sample ${index} (${variant})`,
            dataset: { probe: String(p), variant, index: String(index) },
            onclick: () => this.onInspect(index),
          },
          canvas,
          h("span.heat-variant", variant),
          caption,
        );
        return { canvas, caption, button };
      });
      const tar = h("span.probe-tar");
      const card = h(
        "figure.probe",
        { role: "listitem", dataset: { probe: String(p), index: String(index) } },
        h(
          "figcaption.probe-title",
          h("span", `#${index}`),
          h("span.muted", `true: ${className(classes, label)}`),
        ),
        h("div.pair", cells.map((c) => c.button)),
        tar,
      );
      return { card, cells, tar, label };
    });
    fill(this.body, this.cards.map((c) => c.card));
  }

  frameToShow() {
    const steps = this.model.frameSteps;
    const i = this.step === null ? steps.length - 1 : floorIndex(steps, this.step);
    return i < 0 ? null : this.model.frames.get(steps[i]);
  }

  draw() {
    const m = this.model;
    this.build();
    if (!m.probes) {
      this.status.textContent =
        m.config?.monitor?.probe_count === 0
          ? "This run has no probe samples (monitor.probe_count is 0), so no heatmaps."
          : m.active
            ? "Heatmaps appear when preparation is done: the probe samples are chosen then."
            : "This run recorded no heatmaps (it ended before its first frame).";
      this.status.hidden = false;
      this.stepLabel.textContent = "";
      return;
    }
    const frame = this.frameToShow();
    this.status.hidden = Boolean(frame);
    if (!frame) {
      this.status.textContent = "No heatmap frame yet at this step.";
      return;
    }
    if (frame.missing || !frame.maps) {
      if (this.failed.has(frame.step)) {
        // No retry loop: the next move of the slider tries again.
        this.status.hidden = false;
        this.status.textContent = `Could not load the heatmaps of step ${frame.step}; move the slider to try again.`;
        return;
      }
      this.fetchFrame(frame);
      this.stepLabel.textContent = `Loading step ${frame.step}…`;
      return;
    }
    this.root.dataset.step = String(frame.step);
    const newest = this.step === null || frame.step === this.step;
    this.stepLabel.textContent = `Grad-CAM at step ${frame.step}${newest ? "" : ` (newest frame at or before step ${this.step})`}`;
    const box = m.started?.trigger_box || null;
    this.cards.forEach((card, p) => {
      card.cells.forEach((cell, v) => {
        const heat = frame.maps && p < frame.count ? frameMap(frame, p, v) : null;
        drawOverlay(cell.canvas, {
          image: probeImage(m.probes, p, v),
          heat,
          size: m.probes.size,
          box,
          view: this.view,
          alpha: this.alpha,
        });
        cell.canvas.dataset.step = String(frame.step);
        const pred = frame.preds?.[p]?.[v];
        const conf = num(frame.confs?.[p]?.[v]);
        const hit = v === 1 && pred === m.targetClass && card.label !== m.targetClass;
        fill(
          cell.caption,
          h("b", className(m.classes, pred)),
          ` ${conf === null ? "" : Math.round(conf * 100) + "%"}`,
          hit ? h("span.flag", { title: "the backdoor fires: predicted the target class" }, " ⚠ target") : null,
        );
        cell.button.classList.toggle("fires", hit);
      });
      const tar = frame.tars?.[p];
      card.tar.textContent = tar === null || tar === undefined ? "TAR n/a" : `TAR ${fixed(tar, 2)}`;
    });
  }

  async fetchFrame(frame) {
    if (this.fetching.has(frame.step)) return;
    this.fetching.add(frame.step);
    try {
      const { meta, maps } = await api.frame(this.model.id, frame.step);
      Object.assign(frame, {
        size: meta.size,
        count: meta.count,
        maps,
        preds: meta.probes.map((p) => p.pred),
        confs: meta.probes.map((p) => p.conf),
        tars: meta.probes.map((p) => p.tar),
        missing: false,
      });
    } catch (err) {
      this.failed.add(frame.step);
      console.warn(`heatmaps of step ${frame.step}:`, err.message);
    } finally {
      this.fetching.delete(frame.step);
      this.render();
    }
  }
}
