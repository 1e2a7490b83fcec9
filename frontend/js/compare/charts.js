// The compare view's charts: one line per run (its colour, dashed past seven runs), or per
// seed group a mean line with a min-max band; x in steps, wall-clock seconds or percent of
// the run. Traces are rebuilt whole (Plotly.react) at most every REDRAW_MS while runs
// stream; the slider's cursor is a positioned element over each plot, so moving it
// redraws nothing in Plotly.

import { h, perFrame } from "../core/dom.js";
import { LOCALISATION } from "../run/charts/specs.js";
import { num } from "../core/format.js";
import { ComparePath } from "./path.js";

/* global Plotly */

const REDRAW_MS = 400;
const MARKERS_UP_TO = 200; // points of a measured line drawn with markers (run/charts/specs.js)
// Measured keys the charts know; any other numeric measurement field (the localisation
// metrics, robust accuracy, ...) gets a chart of its own when a run has it.
const KNOWN = new Set(["step", "phase_index", "lag", "asr", "ca", "tar_median", "tar_mean", "mass_fraction", "run_id"]);
const EXTRA_TITLES = {
  ra: "Robust accuracy (RA): triggered images classified correctly",
  mass_fraction: "Trigger mass fraction",
};

export const BASE_CHARTS = [
  { id: "asr", key: "asr", title: "Attack success rate (ASR): lower is better", unit: "%" },
  { id: "ca", key: "ca", title: "Clean accuracy (CA): higher is better", unit: "%" },
  { id: "tar", key: "tar_median", title: "Trigger Attention Ratio (TAR, median): 1 = no preference for the trigger", unit: "", refY: 1 },
  { id: "loss", key: null, title: "Batch cross-entropy of each step", unit: "" },
];

export const X_MODES = {
  step: { label: "steps", axis: "step" },
  time: { label: "wall-clock seconds", axis: "seconds since unlearning began" },
  progress: { label: "progress", axis: "% of the run" },
};

/** A run's points of a measured key (monitor and full evaluations merged, by step). */
export function measuredSeries(model, key) {
  const byStep = new Map();
  for (const s of model.measurements) {
    if (s[key] !== null && s[key] !== undefined) byStep.set(s.step, num(s[key]));
  }
  for (const e of model.evals) {
    if (e[key] !== null && e[key] !== undefined) byStep.set(e.step, num(e[key]));
  }
  // A trigger recovered mid-run: its "before" point (step 0) stands alone; nothing was
  // measured with the trigger until the step it was found, so no line joins the two.
  if (model.found && key !== "ca" && byStep.has(0)) byStep.set(0.5, null);
  const steps = [...byStep.keys()].sort((a, b) => a - b);
  return { steps, values: steps.map((s) => byStep.get(s)) };
}

function lossSeries(model) {
  return { steps: model.steps.map((s) => s.step), values: model.steps.map((s) => num(s.ce_loss)) };
}

/** Mean, min and max over the members' step series (each carried forward, up to its last step). */
export function bandOf(series) {
  const grid = [...new Set(series.flatMap((s) => s.steps))].sort((a, b) => a - b);
  const idx = series.map(() => -1);
  const mean = [];
  const lo = [];
  const hi = [];
  for (const x of grid) {
    const vals = [];
    series.forEach((s, k) => {
      while (idx[k] + 1 < s.steps.length && s.steps[idx[k] + 1] <= x) idx[k] += 1;
      const last = s.steps[s.steps.length - 1];
      if (idx[k] >= 0 && x <= last && s.values[idx[k]] !== null && Number.isFinite(s.values[idx[k]])) vals.push(s.values[idx[k]]);
    });
    if (!vals.length) {
      mean.push(null);
      lo.push(null);
      hi.push(null);
      continue;
    }
    mean.push(vals.reduce((a, b) => a + b, 0) / vals.length);
    lo.push(Math.min(...vals));
    hi.push(Math.max(...vals));
  }
  return { steps: grid, mean, lo, hi };
}

/** The chart of a measured key beyond the base four: robust accuracy in percent, a
 * localisation metric on its whole range (0-1, with AUC's chance line), others as they come. */
export function extraSpec(key) {
  const loc = LOCALISATION[key];
  const title = EXTRA_TITLES[key] || (loc ? `${loc.label}: ${loc.hint}` : key.replace(/_/g, " "));
  return { id: key, key, title, unit: key === "ra" ? "%" : "", scale: loc?.scale, refY: loc?.refLine?.y };
}

/** Why a chart on a metric's whole range looks flat: what the axis shows and the highest
 * value the runs reached (a map with almost no heat on the trigger stays near 0). */
export function scaleNote(spec, runs) {
  const values = runs.flatMap((r) => measuredSeries(r.model, spec.key).values).filter((v) => v !== null && Number.isFinite(v));
  const [lo, hi] = spec.scale;
  const axis = `The axis shows the metric's whole range, ${lo} to ${hi}`;
  return values.length ? `${axis}; the highest value here is ${Math.max(...values).toPrecision(2)}.` : `${axis}.`;
}

function rgba(hex, alpha) {
  const n = parseInt(hex.slice(1), 16);
  return `rgba(${(n >> 16) & 255}, ${(n >> 8) & 255}, ${n & 255}, ${alpha})`;
}

export class CompareCharts {
  /** view: {runs: [{id, model, color, dash, name}], groups: [[id]], xOf(run, step), xMode, bands, singles} */
  constructor(root, view) {
    this.root = root;
    this.view = view;
    this.panels = new Map(); // id -> {spec, plot, cursor, ready}
    this.cursorX = null;
    this.lastDraw = 0;
    this.timer = 0;
    this.schedule = perFrame(() => this.maybeDraw());
    BASE_CHARTS.forEach((spec) => this.panel(spec));
    // The backdoor-connected path: x is alpha, not steps (no cursor); it stays the last card.
    this.path = new ComparePath(root, view);
  }

  panel(spec) {
    const plot = h(`div.chart.cv-chart#cv-chart-${spec.id}`, { role: "img", "aria-label": spec.title });
    const cursor = h("div.cv-cursor", { hidden: true });
    const note = h("p.chart-note.muted.cv-chart-note");
    const el = h(
      "section.card.chart-card.cv-chart-card",
      { "aria-label": spec.title },
      h("header.card-head", h("h3", spec.title)),
      note,
      h("div.chart-wrap.cv-chart-wrap", plot, cursor),
    );
    this.root.insertBefore(el, this.path?.el ?? null);
    const panel = { spec, plot, cursor, el, note, drawn: false };
    this.panels.set(spec.id, panel);
    return panel;
  }

  /** Ask for a redraw (data or settings changed); throttled. */
  changed() {
    this.schedule();
  }

  maybeDraw() {
    const wait = REDRAW_MS - (performance.now() - this.lastDraw);
    if (wait > 0) {
      clearTimeout(this.timer);
      this.timer = setTimeout(() => this.schedule(), wait);
      return;
    }
    this.draw();
  }

  /** Extra measured keys present in any run, in first-seen order. */
  extraKeys() {
    const keys = [];
    for (const r of this.view.runs) {
      for (const m of r.model.measurements) {
        for (const [k, v] of Object.entries(m)) {
          if (!KNOWN.has(k) && typeof v === "number" && !keys.includes(k)) keys.push(k);
        }
      }
      for (const e of r.model.evals) if (e.ra !== undefined && e.ra !== null && !keys.includes("ra")) keys.push("ra");
    }
    return keys;
  }

  seriesOf(run, spec) {
    return spec.key ? measuredSeries(run.model, spec.key) : lossSeries(run.model);
  }

  traces(spec) {
    const v = this.view;
    const grouped = new Map();
    if (v.bands) v.groups.forEach((ids) => ids.forEach((id) => grouped.set(id, ids)));
    const out = [];
    const fmt = spec.unit === "%" ? "%{y:.1f}%" : "%{y:.3g}";
    for (const run of v.runs) {
      const inGroup = grouped.has(run.id);
      if (inGroup && !v.singles) continue;
      const s = this.seriesOf(run, spec);
      out.push({
        type: "scatter",
        // as in a run's own charts: past 200 points the markers merge into the line, and
        // each is an SVG element to draw (12 runs of 200 measurements: 2,400 a chart)
        mode: spec.key && s.steps.length <= MARKERS_UP_TO ? "lines+markers" : "lines",
        name: run.name,
        legendgroup: run.id,
        x: s.steps.map((st) => v.xOf(run, st)),
        y: s.values,
        line: { color: run.color, width: inGroup ? 1 : 2, dash: run.dash },
        marker: { color: run.color, size: spec.key ? 4 : 0 },
        opacity: inGroup ? 0.45 : 1,
        hovertemplate: `${fmt}<extra>${run.name.replace(/</g, "&lt;")}</extra>`,
        showlegend: false,
      });
    }
    if (v.bands) {
      for (const ids of v.groups) {
        const members = ids.map((id) => v.runs.find((r) => r.id === id)).filter(Boolean);
        if (members.length < 2) continue;
        const first = members[0];
        const band = bandOf(members.map((r) => this.seriesOf(r, spec)));
        const x = band.steps.map((st) => v.xOf(first, st));
        const name = `${first.groupName} (mean of ${members.length} seeds)`;
        out.push({ type: "scatter", mode: "lines", x, y: band.lo, line: { width: 0, color: first.color }, hoverinfo: "skip", showlegend: false, name: `${name} min` });
        out.push({
          type: "scatter", mode: "lines", x, y: band.hi, fill: "tonexty", fillcolor: rgba(first.color, 0.18),
          line: { width: 0, color: first.color }, hoverinfo: "skip", showlegend: false, name: `${name} max`,
        });
        out.push({
          type: "scatter", mode: "lines", x, y: band.mean, name, line: { color: first.color, width: 3, dash: first.dash },
          hovertemplate: `${fmt} (mean; band: min-max)<extra>${name.replace(/</g, "&lt;")}</extra>`, showlegend: false,
        });
      }
    }
    return out;
  }

  layout(spec) {
    const mode = X_MODES[this.view.xMode];
    return {
      margin: { l: 52, r: 12, t: 8, b: 38 },
      font: { family: "Inter, 'Segoe UI', 'DejaVu Sans', system-ui, sans-serif", size: 12, color: "#1f2933" },
      paper_bgcolor: "#ffffff",
      plot_bgcolor: "#ffffff",
      hovermode: "closest",
      showlegend: false,
      xaxis: { title: { text: mode.axis, standoff: 4 }, zeroline: false, gridcolor: "#eef1f4", linecolor: "#c9d1da", range: this.view.xRange() },
      yaxis: {
        gridcolor: "#eef1f4", zeroline: false, linecolor: "#c9d1da", automargin: true,
        ...(spec.unit === "%" ? { range: [0, 101], ticksuffix: "%" } : spec.scale ? { range: spec.scale } : { rangemode: "tozero" }),
      },
      shapes: spec.refY === undefined ? [] : [{ type: "line", xref: "paper", yref: "y", x0: 0, x1: 1, y0: spec.refY, y1: spec.refY, line: { color: "#7b8794", width: 1, dash: "dot" } }],
    };
  }

  draw() {
    this.lastDraw = performance.now();
    for (const key of this.extraKeys()) if (!this.panels.has(key)) this.panel(extraSpec(key));
    for (const panel of this.panels.values()) {
      if (panel.spec.scale) panel.note.textContent = scaleNote(panel.spec, this.view.runs);
      Plotly.react(panel.plot, this.traces(panel.spec), this.layout(panel.spec), { responsive: true, displaylogo: false, modeBarButtonsToRemove: ["select2d", "lasso2d", "toImage"] });
      if (!panel.drawn) {
        panel.drawn = true;
        panel.plot.on?.("plotly_relayout", () => this.placeCursor(panel));
      }
    }
    this.path.draw();
    this.placeCursors();
    this.root.dataset.drawn = String(Number(this.root.dataset.drawn || 0) + 1);
    // Marks for the benchmark (unlearnscope bench compare) and the browser's profiler.
    if (!this.marked) {
      this.marked = true;
      performance.mark("compare:first-draw");
    }
    if (!this.markedAll && this.view.runs.every((r) => !r.model.active && r.model.finished)) {
      this.markedAll = true;
      performance.mark("compare:all-drawn");
    }
  }

  /** Put the cursor at x (in the current x unit), or hide it (null). */
  setCursor(x) {
    this.cursorX = x;
    this.placeCursors();
  }

  placeCursors() {
    for (const panel of this.panels.values()) this.placeCursor(panel);
  }

  placeCursor(panel) {
    const ax = panel.plot._fullLayout?.xaxis;
    if (this.cursorX === null || !ax) {
      panel.cursor.hidden = true;
      return;
    }
    const px = ax._offset + ax.l2p(this.cursorX);
    const inside = px >= ax._offset - 1 && px <= ax._offset + ax._length + 1;
    panel.cursor.hidden = !inside;
    const ya = panel.plot._fullLayout.yaxis;
    panel.cursor.style.transform = `translateX(${px}px)`;
    panel.cursor.style.top = `${ya._offset}px`;
    panel.cursor.style.height = `${ya._length}px`;
  }

  destroy() {
    clearTimeout(this.timer);
    for (const panel of this.panels.values()) Plotly.purge(panel.plot);
    this.path.destroy();
  }
}
