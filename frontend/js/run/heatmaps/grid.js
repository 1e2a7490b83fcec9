// The grid of probe samples: for each, "before unlearning" (step 0) pinned next to "now"
// (the newest frame, or the slider's step) and the change between them, clean and with
// the trigger; a count of the probes the backdoor fires on, before and now. A click on a
// cell enlarges the probe (HeatZoom).

import { h, fill, perFrame } from "../../core/dom.js";
import { lastAtOrBefore } from "../../core/search.js";
import { className, fixed, num } from "../../core/format.js";
import {
  COLUMNS, VARIANTS, VARIANT_INDEX, colTitle, fires, frameMap, loadFrame, probeCells, probeImage,
  probeRegion,
} from "./cells.js";
import { drawCell } from "./draw.js";
import { HeatZoom } from "./zoom.js";
import { GridToolbar } from "./tools.js";

export class HeatmapGrid {
  constructor(root, model, { onInspect }) {
    this.root = root;
    this.model = model;
    this.onInspect = onInspect;
    this.step = null; // null: follow the newest frame
    this.defendedStep = null; // () -> the defended model's step (null: none yet), when set
    this.cards = [];
    this.fetching = new Set();
    this.failed = new Set(); // steps whose frame could not be fetched (retried on the next seek)
    this.render = perFrame(() => this.draw());
    this.tools = new GridToolbar({ onChange: () => this.render() });
    this.body = h("div.probe-grid", { role: "list" });
    this.status = h("p.grid-status");
    this.zoom = new HeatZoom(this, { onInspect });
    root.append(this.tools.el, this.status, this.body);
    this.unsubscribe = model.subscribe((e) => {
      if (e.type === "probes" || e.type === "run_started") this.build();
      if (e.type === "frames" || e.type === "probes" || e.type === "status") this.render();
    });
    this.build();
    this.render();
  }

  get view() {
    return this.tools.view;
  }

  destroy() {
    this.unsubscribe();
    this.zoom.destroy();
  }

  setView(view) {
    this.tools.setView(view);
  }

  /** Show the frame at or before `step`; null follows the run. */
  show(step) {
    this.step = step;
    this.failed.clear();
    this.render();
  }

  build() {
    const { probes, classes, started } = this.model;
    this.tools.setRegion(started?.trigger_box || null, started?.trigger_region || null);
    if (!probes || this.cards.length === probes.indices.length) return;
    this.cards = probes.indices.map((index, p) => {
      const label = probes.labels[p];
      const cells = probeCells(index, () => this.zoom.open(p));
      const tar = h("span.probe-tar");
      const rows = VARIANTS.map(([variant, title]) => [
        h("div.cmp-row-head", title),
        COLUMNS.map((col) => cells[variant][col].button),
      ]);
      const card = h(
        "figure.probe",
        { role: "listitem", dataset: { probe: String(p), index: String(index) } },
        h("figcaption.probe-title", h("span", `#${index}`), h("span.muted", `true class: ${className(classes, label)}`), tar),
        h("div.cmp", COLUMNS.map((col) => h(`div.cmp-head.cmp-${col}`, colTitle(col))), rows),
      );
      return { card, cells, tar, label, index };
    });
    fill(this.body, this.cards.map((c) => c.card));
  }

  frameAt(step) {
    const steps = this.model.frameSteps;
    const i = step === null ? steps.length - 1 : lastAtOrBefore(steps, step);
    return i < 0 ? null : this.model.frames.get(steps[i]);
  }

  /** A frame whose maps are here, or null after starting a fetch of them. */
  ready(frame) {
    if (!frame) return null;
    if (frame.maps && !frame.missing) return frame;
    if (!this.failed.has(frame.step)) this.fetchFrame(frame);
    return null;
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
      this.tools.setStep("");
      return;
    }
    const shown = this.frameAt(this.step);
    const frame = this.ready(shown);
    const before = this.ready(m.frames.get(0) || this.frameAt(0));
    this.status.hidden = Boolean(frame);
    if (!shown) {
      this.status.textContent = "No heatmap frame yet at this step.";
      return;
    }
    if (!frame) {
      this.status.hidden = !this.failed.has(shown.step);
      this.status.textContent = `Could not load the heatmaps of step ${shown.step}; move the slider to try again.`;
      this.tools.setStep(`Loading step ${shown.step}…`);
      return;
    }
    this.root.dataset.step = String(frame.step);
    const newest = this.step === null || frame.step === this.step;
    this.tools.setStep(`Now = step ${frame.step}${newest ? "" : ` (newest frame at or before step ${this.step})`}`);
    this.cards.forEach((card, p) => this.paint(p, card.cells, frame, before));
    // past the defended model (a closing attack re-tuned or probed it): its count too, so
    // the line tells the whole story ("→ 0/8 after the defence → 6/8 after re-tuning")
    const defended = this.defendedStep ? this.defendedStep() : null;
    const kept = defended !== null && defended > 0 && frame.step > defended ? this.ready(this.frameAt(defended)) : null;
    this.tools.setFires(this.firesCount(before, frame, kept));
    this.zoom.refresh();
  }

  /** {before, now, of, step, defended}: triggered probes (true class not the target) the
   * backdoor fires on, before, in `frame` and in the defended model's frame (`kept`, or
   * null: defended is then null). */
  firesCount(before, frame, kept = null) {
    const m = this.model;
    const eligible = this.cards.map((c, p) => p).filter((p) => this.cards[p].label !== m.targetClass);
    const count = (f) => (f ? eligible.filter((p) => fires(m, f, p)).length : null);
    return {
      before: count(before),
      now: count(frame),
      of: eligible.length,
      step: frame.step,
      defended: kept && kept.step > 0 ? { now: count(kept), step: kept.step } : null,
    };
  }

  /** Draw probe p's cells: before (step 0), now (`frame`) and their change. */
  paint(p, cells, frame, before) {
    const m = this.model;
    const box = m.started?.trigger_box || null;
    const { view, alpha } = this.tools;
    const label = this.cards[p].label;
    for (const [variant] of VARIANTS) {
      const v = VARIANT_INDEX[variant];
      const image = probeImage(m.probes, p, v);
      const size = m.probes.size;
      const region = box ? null : probeRegion(m.probes, p);
      const maps = { before: frameMap(before, p, v), now: frameMap(frame, p, v) };
      for (const col of COLUMNS) {
        const cell = cells[variant][col];
        const f = col === "before" ? before : frame;
        if (col === "change") {
          drawCell(cell.canvas, { image, heat: maps.now, before: maps.before, size, box, region, view: "change" });
          cell.caption.textContent = maps.before ? "now − before" : "no step-0 frame";
        } else {
          drawCell(cell.canvas, { image, heat: maps[col], size, box, region, view, alpha });
          this.caption(cell, f, p, v, label);
        }
        cell.canvas.dataset.step = String(f?.step ?? "");
      }
    }
    const tar = (f) => (f?.tars?.[p] === null || f?.tars?.[p] === undefined ? "n/a" : fixed(f.tars[p], 2));
    this.cards[p].tar.textContent = `TAR ${tar(before)} → ${tar(frame)}`;
  }

  caption(cell, frame, p, v, label) {
    const m = this.model;
    const pred = frame?.preds?.[p]?.[v];
    const conf = num(frame?.confs?.[p]?.[v]);
    const hit = v === 1 && pred === m.targetClass && label !== m.targetClass;
    if (pred === undefined) {
      fill(cell.caption, h("span.muted", "no frame"));
    } else {
      fill(
        cell.caption,
        h("b", className(m.classes, pred)),
        ` ${conf === null ? "" : Math.round(conf * 100) + "%"}`,
        hit ? h("span.flag", { title: "the backdoor fires: predicted the target class" }, " ⚠ target") : null,
      );
    }
    cell.button.classList.toggle("fires", hit);
  }

  async fetchFrame(frame) {
    if (this.fetching.has(frame.step)) return;
    this.fetching.add(frame.step);
    try {
      await loadFrame(this.model.id, frame);
    } catch (err) {
      this.failed.add(frame.step);
      console.warn(`heatmaps of step ${frame.step}:`, err.message);
    } finally {
      this.fetching.delete(frame.step);
      this.render();
    }
  }
}
