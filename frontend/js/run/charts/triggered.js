// "Where triggered images go": over the steps, the share of the triggered non-target test
// images that each class is predicted as (Measurement / Evaluation `triggered_classes`, the
// same predictions as ASR), stacked to 100%. The target class is the bottom band, in the
// ASR colour; ASR falling while one other class swells is a backdoor moved, not removed.

import { PlotCard } from "./card.js";
import { h, perFrame } from "../../core/dom.js";
import { className, percent } from "../../core/format.js";
import { COLOR, PLOT_CONFIG } from "./specs.js";

/* global Plotly */

// Calm and distinct (Okabe-Ito without the ASR colour), then the rest of the classes in grey.
const PALETTE = [COLOR.blue, COLOR.green, COLOR.sky, COLOR.purple, COLOR.orange];
const REST = "#b8c2cc";
const MAX_SHOWN = 6; // legend entries at most: the target, the classes most sent to, the rest

function rgba(hex, alpha) {
  const v = parseInt(hex.slice(1), 16);
  return `rgba(${(v >> 16) & 255}, ${(v >> 8) & 255}, ${v & 255}, ${alpha})`;
}

/**
 * The stacked bands from [{step, counts, full}] (counts: one per class): {steps, full,
 * totals, groups: [{key, name, classes, color, shares, counts}]}, the target first, then up
 * to `maxShown - 2` other classes (those that ever took the largest share, by class index),
 * then "other classes" (left out when they never took any). With few classes every class
 * that took any share has its own band. Shares are percentages of each step's images.
 */
export function triggeredShares(points, target, classes, { maxShown = MAX_SHOWN } = {}) {
  const rows = points
    .map((p) => ({ ...p, total: p.counts.reduce((a, b) => a + Number(b || 0), 0) }))
    .filter((p) => p.total > 0);
  const out = { steps: rows.map((p) => p.step), full: rows.map((p) => Boolean(p.full)), totals: rows.map((p) => p.total), groups: [] };
  if (!rows.length) return out;
  const k = Math.max(...rows.map((p) => p.counts.length));
  const share = (p, c) => (100 * Number(p.counts[c] || 0)) / p.total;
  const peak = new Array(k).fill(0);
  const mean = new Array(k).fill(0);
  for (const p of rows) {
    for (let c = 0; c < k; c++) {
      peak[c] = Math.max(peak[c], share(p, c));
      mean[c] += share(p, c) / rows.length;
    }
  }
  const hasTarget = Number.isInteger(target) && target >= 0 && target < k;
  const others = [...Array(k).keys()].filter((c) => c !== target && peak[c] > 0);
  let own = others;
  let rest = [];
  if (others.length + (hasTarget ? 1 : 0) > maxShown) {
    const room = maxShown - (hasTarget ? 2 : 1); // the target's band and the rest's
    const ranked = [...others].sort((a, b) => peak[b] - peak[a] || mean[b] - mean[a] || a - b);
    own = ranked.slice(0, room).sort((a, b) => a - b);
    rest = ranked.slice(room).sort((a, b) => a - b);
  }
  const band = (key, name, members, color) => {
    const counts = rows.map((p) => members.reduce((a, c) => a + Number(p.counts[c] || 0), 0));
    return { key, name, classes: members, color, counts, shares: counts.map((n, i) => (100 * n) / rows[i].total) };
  };
  if (hasTarget) out.groups.push(band("target", `${className(classes, target)} (target)`, [target], COLOR.vermillion));
  own.forEach((c, i) => out.groups.push(band(`class-${c}`, className(classes, c), [c], PALETTE[i % PALETTE.length])));
  if (rest.length) out.groups.push(band("rest", `other classes (${rest.length})`, rest, REST));
  return out;
}

export class TriggeredChart extends PlotCard {
  constructor(root, model) {
    super();
    this.model = model;
    this.cursor = null;
    this.drawn = false;
    this.plot = h("div.chart#chart-triggered", { role: "img", "aria-label": "Where triggered images go: the share of them predicted as each class, over the steps" });
    this.empty = h("div.chart-empty");
    this.el = h(
      "section.card.chart-card.where-card#where-card",
      { "aria-label": "Where triggered images go" },
      h("header.card-head", h("h3", "Where triggered images go")),
      h(
        "p.chart-note.muted",
        "Triggered images of the other classes, by the class the model gives them. A defence that moves the trigger's effect to another class shows here even when ASR reads low.",
      ),
      h("div.chart-wrap", this.plot, this.empty),
    );
    root.append(this.el);
    this.followWidth();
    this.render = perFrame(() => this.draw(), { share: 0.2 });
    this.unsubscribe = model.subscribe((e) => {
      if (["measurement", "evaluation", "status", "run_row", "run_started", "trigger_found", "phase_start", "schedule_edit"].includes(e.type)) this.render();
      else if (e.type === "step" && e.step % 10 === 0) this.render(); // the x range follows the run
    });
    this.draw();
  }

  draw() {
    if (this.closed) return;
    const m = this.model;
    const data = triggeredShares(m.triggeredClasses(), m.targetClass, m.classes);
    const none = data.steps.length === 0;
    this.el.hidden = none && !m.active; // a run recorded before this was measured
    this.empty.hidden = !none;
    this.empty.textContent = m.triggerUnknown
      ? "Trigger unknown: nothing to follow until a phase recovers one."
      : "Measured with ASR: nothing yet.";
    if (this.el.hidden) return;
    const traces = data.groups.map((g) => ({
      type: "scatter",
      mode: "lines",
      name: g.name,
      x: data.steps,
      y: g.shares,
      customdata: g.counts,
      stackgroup: "share",
      line: { color: g.color, width: g.key === "target" ? 1.5 : 0.8, shape: "linear" },
      fillcolor: rgba(g.color, g.key === "target" ? 0.75 : g.key === "rest" ? 0.55 : 0.5),
      hovertemplate: `%{y:.1f}% (%{customdata} images)<extra>${g.name}</extra>`,
    }));
    const shapes = [];
    if (this.cursor !== null) {
      shapes.push({ type: "line", xref: "x", yref: "paper", x0: this.cursor, x1: this.cursor, y0: 0, y1: 1, line: { color: COLOR.ink, width: 2 } });
    }
    // phase ends: the full test set's evaluations, a faint line each
    data.steps.forEach((s, i) => {
      if (data.full[i] && s > 0) shapes.push({ type: "line", xref: "x", yref: "paper", x0: s, x1: s, y0: 0, y1: 1, layer: "below", line: { color: "#c9d1da", width: 1, dash: "dot" } });
    });
    const layout = {
      margin: { l: 52, r: 16, t: 10, b: 44 },
      font: { family: "Inter, 'Segoe UI', 'DejaVu Sans', system-ui, sans-serif", size: 12, color: COLOR.ink },
      paper_bgcolor: "#ffffff",
      plot_bgcolor: "#ffffff",
      hovermode: "x unified",
      hoverlabel: { bgcolor: "#ffffff", bordercolor: "#c9d1da", font: { size: 12 } },
      showlegend: true,
      legend: { orientation: "h", x: 0, xanchor: "left", y: -0.2, yanchor: "top", font: { size: 11 }, traceorder: "normal" },
      xaxis: { title: { text: "step", standoff: 4 }, range: [0, m.chartEnd()], zeroline: false, gridcolor: "#eef1f4", linecolor: "#c9d1da" },
      yaxis: { range: [0, 100], ticksuffix: "%", gridcolor: "#eef1f4", zeroline: false, linecolor: "#c9d1da", automargin: true },
      shapes,
    };
    const first = !this.drawn;
    Plotly.react(this.plot, traces, layout, PLOT_CONFIG);
    this.drawn = true;
    if (first) Plotly.Plots.resize(this.plot);
    const last = data.steps.length - 1;
    this.plot.setAttribute(
      "aria-label",
      last >= 0 && data.groups[0]?.key === "target"
        ? `Where triggered images go: at step ${data.steps[last]}, ${percent(data.groups[0].shares[last])} to the target class`
        : "Where triggered images go",
    );
  }
}
