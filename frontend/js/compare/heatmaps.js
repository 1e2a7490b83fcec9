// The compare view's heatmap table: one row per run, for a few probe samples the
// Grad-CAM with the trigger before unlearning, and with the trigger and clean at the
// slider's step (each run's newest frame at or before it). Runs built on the same data
// and seed share their probe samples; when they do not, the table says so and each cell
// names its own sample. A canvas is redrawn only when what it shows changed.

import { h, fill, perFrame } from "../core/dom.js";
import { lastAtOrBefore } from "../core/search.js";
import { className, percent } from "../core/format.js";
import { drawCell } from "../run/heatmaps/draw.js";
import { loadFrame, probeImage } from "../run/heatmaps/cells.js";

// Probe samples per page of the table: as many as the table's width holds, 1 to 3.
const MAX_SHOWN = 3;
const NAME_PX = 124; // the run-name column (styles.css: .cv-row-name)
const CELL_PX = 72; // one heatmap cell (a 64 px canvas, padding)
const COLS = [
  ["before", 1, "with trigger, before"],
  ["now", 1, "with trigger, at step"],
  ["now", 0, "clean, at step"],
];

export class CompareHeat {
  constructor(root, view) {
    this.root = root;
    this.view = view;
    this.page = 0;
    this.rows = new Map(); // run id -> {tr, cells: [{canvas, caption, key}], head}
    this.fetching = new Set();
    this.note = h("p.muted.cv-heat-note", { role: "status" });
    this.pager = h("div.row.cv-heat-pager");
    this.table = h("table.cv-heat#compare-heat");
    this.render = perFrame(() => this.draw());
    this.scroll = h("div.cv-heat-scroll", this.table);
    // A narrower or wider column shows fewer or more probe samples per page.
    if (typeof ResizeObserver !== "undefined") {
      this.resizer = new ResizeObserver(() => this.shown() !== this.perPage && this.render());
      this.resizer.observe(this.scroll);
    }
    root.append(
      h(
        "header.card-head",
        h("h3", "What each model looks at, at the slider's step"),
        h("span.muted.small-note", "Grad-CAM of the same test images for every run: coloured = where the model looks; the black-and-white box is the trigger."),
      ),
      this.note,
      this.pager,
      this.scroll,
    );
  }

  /** Probe samples per page that fit the table's width (at least one). */
  shown() {
    const width = this.scroll.clientWidth;
    if (!width) return MAX_SHOWN;
    return Math.max(1, Math.min(MAX_SHOWN, Math.floor((width - NAME_PX) / (COLS.length * CELL_PX))));
  }

  destroy() {
    this.resizer?.disconnect();
  }

  probeCount() {
    return Math.max(0, ...this.view.runs.map((r) => r.model.probes?.indices.length || 0));
  }

  shared() {
    const lists = this.view.runs.map((r) => r.model.probes?.indices).filter(Boolean);
    return lists.every((l) => l.length === lists[0].length && l.every((v, i) => v === lists[0][i]));
  }

  build() {
    const n = this.probeCount();
    const shown = this.shown();
    if (shown !== this.perPage && this.perPage) this.page = Math.floor((this.page * this.perPage) / shown); // keep the first probe shown
    this.perPage = shown;
    const pages = Math.ceil(n / shown);
    this.page = Math.min(this.page, Math.max(0, pages - 1));
    const key = `${n}|${shown}|${this.page}|${this.view.runs.map((r) => r.id).join(",")}`;
    if (key === this.builtKey) return;
    this.builtKey = key;
    fill(
      this.pager,
      pages > 1
        ? [
            h("span.muted", "Probe samples:"),
            Array.from({ length: pages }, (_, p) =>
              h("button.small.ghost", { type: "button", "aria-pressed": String(p === this.page), onclick: () => this.setPage(p) }, shown > 1 ? `${p * shown + 1}–${Math.min(n, (p + 1) * shown)}` : String(p + 1)),
            ),
          ]
        : null,
    );
    const probes = [];
    for (let p = this.page * shown; p < Math.min(n, (this.page + 1) * shown); p++) probes.push(p);
    const first = this.view.runs.find((r) => r.model.probes)?.model;
    const head = h(
      "thead",
      h(
        "tr",
        h("th", { rowspan: "2" }, "Run"),
        probes.map((p) =>
          h("th.cv-probe-head", { colspan: String(COLS.length) }, this.shared() && first ? `test image #${first.probes.indices[p]} (${className(first.classes, first.probes.labels[p])})` : `probe ${p + 1}`),
        ),
      ),
      h("tr", probes.map(() => COLS.map(([, , title]) => h("th.cv-col-head", title)))),
    );
    this.rows.clear();
    const body = h(
      "tbody",
      this.view.runs.map((run) => {
        const cells = [];
        const stepCell = h("div.cv-row-step");
        const tr = h(
          "tr",
          { dataset: { run: run.id } },
          h("th.cv-row-name", { scope: "row" }, h("span.swatch", { style: { background: run.color } }), h("a", { href: `#/run/${encodeURIComponent(run.id)}` }, run.name), stepCell),
          probes.map((p) =>
            COLS.map(([col, variant]) => {
              const canvas = h("canvas.heat-canvas.cv-heat-canvas", { width: 1, height: 1 });
              const caption = h("span.heat-caption");
              cells.push({ canvas, caption, probe: p, col, variant, key: "" });
              return h("td.cv-heat-cell", { dataset: { probe: String(p), col, variant: String(variant) } }, canvas, caption);
            }),
          ),
        );
        this.rows.set(run.id, { tr, cells, stepCell });
        return tr;
      }),
    );
    fill(this.table, head, body);
  }

  setPage(p) {
    this.page = p;
    this.render();
  }

  frameAt(model, step) {
    const i = lastAtOrBefore(model.frameSteps, step);
    return i >= 0 ? model.frames.get(model.frameSteps[i]) : null;
  }

  /** The frame's maps, or null after starting a fetch (skipped by the live stream). */
  maps(run, frame) {
    if (!frame) return null;
    if (frame.maps) return frame.maps;
    if (this.view.mapsLoading?.has(run.id)) return null; // they come with the rest (view.loadMaps)
    const key = `${run.id}:${frame.step}`;
    if (!this.fetching.has(key)) {
      this.fetching.add(key);
      loadFrame(run.id, frame)
        .then(() => this.render())
        .catch(() => {}); // a frame that cannot be had stays without its heatmap
    }
    return null;
  }

  draw() {
    this.build();
    const runs = this.view.runs;
    const shared = this.shared();
    this.note.textContent = !runs.some((r) => r.model.probes)
      ? "No heatmaps yet: they appear once the runs have prepared their probe samples."
      : shared
        ? "All runs use the same probe samples (same data and seed), so each column is the same image."
        : "These runs do not share probe samples (their data or seed differ): each cell shows that run's own probe sample, named under it.";
    this.note.classList.toggle("warn", !shared);
    for (const run of runs) {
      const row = this.rows.get(run.id);
      const m = run.model;
      if (!row) continue;
      const step = this.view.stepOf(run);
      const frame = this.frameAt(m, step);
      const before = this.frameAt(m, 0);
      const asr = m.latest(step, "asr");
      row.stepCell.textContent = `step ${step}${frame && frame.step !== step ? ` (heatmaps of step ${frame.step})` : ""} · ASR ${asr ? percent(asr.value) : "–"}`;
      row.tr.dataset.step = String(step);
      row.tr.dataset.frame = String(frame ? frame.step : -1);
      for (const cell of row.cells) {
        const f = cell.col === "before" ? before : frame;
        const probes = m.probes;
        // a frame the stream skipped has no count yet: fetch it (its count comes with it)
        const heat = f && probes && (f.missing || cell.probe < f.count) ? this.maps(run, f) : null;
        const key = `${f ? f.step : "-"}:${heat ? 1 : 0}`;
        if (key === cell.key) continue;
        cell.key = key;
        if (!probes || cell.probe >= probes.indices.length) {
          cell.caption.textContent = "–";
          continue;
        }
        const size = probes.size;
        const n = size * size;
        const map = heat ? heat.subarray((cell.probe * 2 + cell.variant) * n, (cell.probe * 2 + cell.variant + 1) * n) : null;
        drawCell(cell.canvas, {
          image: probeImage(probes, cell.probe, cell.variant),
          heat: map,
          size,
          box: cell.variant === 1 ? m.started?.trigger_box : null,
        });
        // what the canvas shows: the frame's step, and whether its heatmap was there
        cell.canvas.dataset.frame = f ? String(f.step) : "";
        cell.canvas.dataset.heat = map ? "1" : "0";
        const pred = f?.preds?.[cell.probe]?.[cell.variant];
        const fired = cell.variant === 1 && pred === m.targetClass;
        const own = shared ? "" : `#${probes.indices[cell.probe]} `;
        cell.caption.textContent = f ? `${own}→ ${className(m.classes, pred)}${fired ? " (backdoor)" : ""}` : `${own}no frame yet`;
        cell.caption.classList.toggle("fired", fired);
      }
    }
  }
}
