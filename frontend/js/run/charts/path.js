// "Backdoor-connected path" (Min et al., NeurIPS 2024): ASR and CA of the models on the
// straight line from the backdoored weights (alpha 0) to the model at a step (alpha 1),
// measured at every phase end (`path` events) and on request ("Measure now": POST
// /api/runs/{id}/path while the run is running or paused). The newest path at or before
// the slider's step is drawn bold, the earlier ones faint behind it.

import { PlotCard } from "./card.js";
import { api } from "../../core/api.js";
import { h, perFrame } from "../../core/dom.js";
import { num } from "../../core/format.js";
import { isStepping } from "../../core/vocab.js";
import { COLOR, PLOT_CONFIG } from "./specs.js";

/* global Plotly */

const EARLIER = "#9aa5b1"; // the legend's swatch for the faint earlier paths
const TICKS = [0, 0.2, 0.4, 0.6, 0.8, 1];

/** "phase 2 (pam), step 120" or "on request at step 57" */
export function pathLabel(p) {
  return /\bstep\b/.test(p.label || "") ? p.label : `${p.label || "path"}, step ${p.step}`;
}

/**
 * The path chart's traces: `shown` bold (ASR and CA), the paths measured before it faint
 * (one legend entry for all of them). ASR is left out where nothing measured it (a trigger
 * nobody knows).
 */
export function pathTraces(paths, shown) {
  if (!shown) return [];
  const traces = [];
  const earlier = paths.filter((p) => p !== shown && p.step <= shown.step && p.seq !== shown.seq);
  const hasAsr = (p) => (p.asr || []).some((v) => v !== null && v !== undefined);
  if (earlier.length) {
    // a legend swatch that shows and hides them all (their group)
    traces.push({
      type: "scatter", mode: "lines", x: [null], y: [null], name: `earlier (${earlier.length})`,
      legendgroup: "earlier", line: { color: EARLIER, width: 1 }, hoverinfo: "skip",
    });
  }
  for (const p of earlier) {
    const where = pathLabel(p);
    for (const [key, name, color] of [["asr", "ASR", COLOR.vermillion], ["ca", "CA", COLOR.blue]]) {
      if (key === "asr" && !hasAsr(p)) continue;
      traces.push({
        type: "scatter", mode: "lines", x: p.alphas, y: p[key].map(num), name: `${name}, ${where}`,
        legendgroup: "earlier", showlegend: false, opacity: 0.3,
        line: { color, width: 1.2 },
        hovertemplate: `%{y:.1f}%<extra>${name}, ${where}</extra>`,
      });
    }
  }
  const where = pathLabel(shown);
  if (hasAsr(shown)) {
    traces.push({
      type: "scatter", mode: "lines+markers", x: shown.alphas, y: shown.asr.map(num), name: "ASR",
      line: { color: COLOR.vermillion, width: 2.5 }, marker: { size: 6, color: COLOR.vermillion },
      hovertemplate: `%{y:.1f}%<extra>ASR, ${where}</extra>`,
    });
  }
  traces.push({
    type: "scatter", mode: "lines+markers", x: shown.alphas, y: shown.ca.map(num), name: "CA",
    line: { color: COLOR.blue, width: 2.5 }, marker: { size: 6, color: COLOR.blue },
    hovertemplate: `%{y:.1f}%<extra>CA, ${where}</extra>`,
  });
  return traces;
}

export class PathChart extends PlotCard {
  constructor(root, model) {
    super();
    this.model = model;
    this.cursor = null; // the slider's step; null: the newest path
    this.pending = false; // a POST /path in flight
    this.note = ""; // what the last request came to (an error, calmly)
    this.drawn = false;
    this.plot = h("div.chart#chart-path", { role: "img", "aria-label": "Backdoor-connected path: ASR and CA from the backdoored model to this one" });
    this.empty = h("div.chart-empty");
    this.button = h(
      "button.ghost.small#measure-path",
      { type: "button", onclick: () => this.measure() },
      "Measure now",
    );
    this.status = h("span.path-status.muted#path-status", { role: "status", "aria-live": "polite" });
    this.el = h(
      "section.card.chart-card.path-card#path-card",
      { "aria-label": "Backdoor-connected path" },
      h("header.card-head", h("h3", "Backdoor-connected path"), this.button),
      h(
        "p.chart-note.muted",
        "ASR along the straight line from the backdoored model (left) to this model (right). A backdoor that is only dormant climbs back quickly to the left of “now”.",
      ),
      h("div.chart-wrap", this.plot, this.empty),
      h("p.chart-status", this.status),
    );
    root.append(this.el);
    this.followWidth();
    this.render = perFrame(() => this.draw());
    this.unsubscribe = model.subscribe((e) => {
      if (["path", "status", "run_row", "run_started", "run_finished"].includes(e.type)) this.render();
    });
    this.draw();
  }

  async measure() {
    const m = this.model;
    if (this.pending || !isStepping(m.status)) return;
    this.pending = true;
    this.note = "";
    this.draw();
    try {
      const answer = await api.path(m.id);
      if (this.closed) return;
      const event = { ...answer, type: "path" };
      delete event.run_id;
      delete event.source;
      // The event also comes on the stream: the model keeps it once, whichever is first.
      if (m.addPath(event)) m.notify({ type: "path", answered: true });
      this.note = "";
    } catch (err) {
      if (this.closed) return;
      const hint = err.status === 504 ? " Try again." : err.status === 409 ? " Try again once the run is running." : "";
      this.note = `Not measured: ${err.detail}.${hint}`.replace(/\.\.(\s|$)/, ".$1");
    } finally {
      this.pending = false;
      if (!this.closed) this.draw();
    }
  }

  buttonState() {
    const m = this.model;
    const can = isStepping(m.status);
    this.button.disabled = this.pending || !can;
    this.button.textContent = this.pending ? "Measuring…" : "Measure now";
    this.button.title = can
      ? "Measure the path of the model as it is now (a few seconds; training waits meanwhile)"
      : "Only a running or paused run can measure it; it is measured by itself at every phase end";
  }

  draw() {
    if (this.closed) return;
    const m = this.model;
    this.buttonState();
    const shown = m.pathAt(this.cursor);
    const none = m.paths.length === 0;
    // A finished run that never measured a path (recorded before paths existed): no card.
    this.el.hidden = none && !m.active;
    this.empty.hidden = Boolean(shown);
    this.empty.textContent = none
      ? "Measured at every phase end (and with “Measure now”): nothing yet."
      : `No path measured by step ${this.cursor}: the first is at step ${m.paths[0].step}.`;
    let status = "";
    const points = Number(m.config?.monitor?.path_points) || 11;
    if (this.pending) status = `Measuring ${points} models between the backdoored one and now, on the monitor subset…`;
    else if (this.note) status = this.note;
    else if (shown) {
      const cost = num(shown.seconds) ? ` · measured in ${num(shown.seconds).toFixed(1)} s` : "";
      status = `Bold lines: ${pathLabel(shown)}${cost}.`;
      if (this.cursor !== null && shown !== m.pathAt()) status += " (the newest at or before the slider's step)";
    }
    this.status.textContent = status;
    this.status.classList.toggle("warn-text", Boolean(this.note) && !this.pending);
    if (this.el.hidden) return;
    const traces = pathTraces(m.paths, shown);
    const noAsr = shown && !traces.some((t) => t.name === "ASR");
    const layout = {
      margin: { l: 52, r: 30, t: 10, b: 30 },
      font: { family: "Inter, 'Segoe UI', 'DejaVu Sans', system-ui, sans-serif", size: 12, color: COLOR.ink },
      paper_bgcolor: "#ffffff",
      plot_bgcolor: "#ffffff",
      hovermode: "x unified",
      hoverlabel: { bgcolor: "#ffffff", bordercolor: "#c9d1da", font: { size: 12 } },
      showlegend: true,
      legend: { orientation: "h", x: 0, xanchor: "left", y: -0.2, yanchor: "top", font: { size: 11 } },
      xaxis: {
        range: [-0.03, 1.03], tickvals: TICKS,
        ticktext: TICKS.map((a) => (a === 0 ? "0<br>backdoored" : a === 1 ? "1<br>now" : String(a))),
        tickangle: 0, automargin: true, zeroline: false, gridcolor: "#eef1f4", linecolor: "#c9d1da",
        hoverformat: ".2f",
      },
      yaxis: { range: [0, 101], ticksuffix: "%", gridcolor: "#eef1f4", zeroline: false, linecolor: "#c9d1da", automargin: true },
      annotations: noAsr
        ? [{ x: 0.5, y: 0.5, xref: "paper", yref: "paper", showarrow: false, text: "Trigger unknown: no ASR along the path", font: { size: 12, color: "#52606d" }, bgcolor: "rgba(255, 255, 255, 0.85)" }]
        : [],
    };
    const first = !this.drawn;
    Plotly.react(this.plot, traces, layout, PLOT_CONFIG);
    this.drawn = true;
    if (first) Plotly.Plots.resize(this.plot); // its card may have been hidden until now
  }
}
