// "Each phase's own losses": the named losses a phase kind reports per step
// (StepMetrics.losses: NAD's ce and attention, SAM's ce at w and at w + e, I-BAU's inner
// and outer cross-entropy, ...), one line per kind and name, coloured by kind. Hidden
// while no step carries any (ascent and recovery report none; their CE is in "Losses").

import { h, perFrame } from "../../core/dom.js";
import { num } from "../../core/format.js";
import { phaseColor } from "./specs.js";

/* global Plotly */

const DASHES = ["solid", "dot", "dash", "dashdot", "longdash"];
const REDRAW_MS = 400; // whole redraws, at most this often

export class KindLosses {
  constructor(root, model) {
    this.model = model;
    this.plot = h("div.chart#chart-kind-losses", { role: "img", "aria-label": "Each phase's own losses" });
    this.el = h(
      "section.card.chart-card.kind-loss-card",
      { "aria-label": "Each phase's own losses" },
      h(
        "header.card-head",
        h("h3", "Each phase's own losses"),
        h("span.muted.small-note", "what a defence optimises besides the task loss (log scale)"),
      ),
      h("div.chart-wrap", this.plot),
    );
    this.el.hidden = true;
    root.append(this.el);
    this.last = 0;
    this.timer = 0;
    this.drawn = false;
    this.flush = perFrame(() => this.schedule());
    this.unsubscribe = model.subscribe((e) => {
      if (e.type === "step" && e.losses && Object.keys(e.losses).length) this.flush();
    });
    this.flush();
  }

  destroy() {
    this.closed = true;
    clearTimeout(this.timer);
    this.unsubscribe();
    if (this.drawn) Plotly.purge(this.plot);
  }

  schedule() {
    const wait = this.last + REDRAW_MS - Date.now();
    if (wait <= 0) this.draw();
    else if (!this.timer) this.timer = setTimeout(() => { this.timer = 0; this.draw(); }, wait);
  }

  /** {`kind: name`: {kind, name, x, y}} from the model's steps, with gaps between phases. */
  series() {
    const out = new Map();
    for (const s of this.model.steps) {
      const losses = s.losses || {};
      for (const [name, raw] of Object.entries(losses)) {
        const key = `${s.kind}: ${name}`;
        if (!out.has(key)) out.set(key, { kind: s.kind, name, x: [], y: [], phase: s.phase_index });
        const line = out.get(key);
        const prev = line.x[line.x.length - 1];
        if (line.phase !== s.phase_index || (prev !== undefined && s.step > prev + 1)) {
          // a later phase of the same kind, or steps that did not report this loss
          // (I-BAU's inner and outer steps alternate): a gap, not a joining line
          line.x.push(s.step);
          line.y.push(null);
          line.phase = s.phase_index;
        }
        const v = num(raw);
        line.x.push(s.step);
        line.y.push(v !== null && v > 0 ? v : null);
      }
    }
    return out;
  }

  draw() {
    if (this.closed) return;
    this.last = Date.now();
    const series = this.series();
    this.el.hidden = series.size === 0;
    if (!series.size) return;
    const perKind = new Map();
    const traces = [...series.entries()].map(([key, line]) => {
      const n = perKind.get(line.kind) || 0;
      perKind.set(line.kind, n + 1);
      return {
        type: "scatter",
        mode: "lines",
        name: key,
        x: line.x,
        y: line.y,
        connectgaps: false,
        line: { color: phaseColor(line.kind).line, width: 1.8, dash: DASHES[n % DASHES.length] },
        hovertemplate: `%{y:.4g}<extra>${key}</extra>`,
      };
    });
    const layout = {
      margin: { l: 56, r: 16, t: 10, b: 40 },
      font: { family: "Inter, 'Segoe UI', 'DejaVu Sans', system-ui, sans-serif", size: 12, color: "#1f2933" },
      paper_bgcolor: "#ffffff",
      plot_bgcolor: "#ffffff",
      hovermode: "x unified",
      showlegend: true,
      legend: { orientation: "h", x: 0, y: -0.2, yanchor: "top", font: { size: 11 } },
      xaxis: { title: { text: "step", standoff: 4 }, range: [0, this.model.chartEnd()], gridcolor: "#eef1f4", zeroline: false },
      yaxis: { type: "log", dtick: 1, gridcolor: "#eef1f4", automargin: true },
    };
    const first = !this.drawn;
    Plotly.react(this.plot, traces, layout, { responsive: true, displaylogo: false, modeBarButtonsToRemove: ["select2d", "lasso2d", "autoScale2d", "toImage"] });
    this.drawn = true;
    if (first) Plotly.Plots.resize(this.plot); // its card was hidden until now
  }
}
