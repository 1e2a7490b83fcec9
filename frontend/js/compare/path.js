// The compare view's "Backdoor-connected path" (Min et al., NeurIPS 2024): per run, ASR and
// CA of the models on the straight line from the backdoored weights (alpha 0) to the run's
// defended model (alpha 1), in the run's colour: ASR solid, CA dotted. A run whose schedule
// closed with a retuning attack (relearn) may add the re-tuned model's ASR path, faint.
// The paths are the runs' `path` events (RunModel.paths, streamed like every other event);
// the x-axis is alpha, so the slider's cursor and the x-axis unit do not apply here.

import { h } from "../core/dom.js";
import { num } from "../core/format.js";
import { phaseKind } from "../core/vocab.js";
import { pathLabel } from "../run/charts/path.js";

/* global Plotly */

const TICKS = [0, 0.2, 0.4, 0.6, 0.8, 1];
const KEY_COLOR = "#52606d"; // the legend's style keys (each run's colour is in the Runs card)
// Phase kinds that play the attacker on the defended model (PhaseKind.attack in the
// registry). GET /api/options does not say which kinds attack, so they are named here; a
// kind the options mark `attack` counts as well, should they ever carry the flag.
const ATTACK_KINDS = new Set(["relearn", "qra"]);
const RETUNING_KINDS = new Set(["relearn"]); // the attacks that change the weights (qra: none)

export const isAttackKind = (kind) => phaseKind(kind)?.attack ?? ATTACK_KINDS.has(kind);

/** Index of the first phase of the schedule's closing run of attack phases (its length
 * when it does not close with one), as the engine's summary.split_retuning counts. */
export function closingAttacksFrom(schedule) {
  let first = (schedule || []).length;
  while (first > 0 && isAttackKind(schedule[first - 1].kind)) first -= 1;
  return first;
}

/**
 * The paths of one run to draw: {defended, retuned} (null where none).
 *
 * The rule: the defended model is the one before the schedule's closing attack phases
 * (RunFinished.after). Its path is the last path measured in a phase before them
 * (phase_index below the first closing attack): the end of the last defence phase once
 * it ended, the newest so far while the run is still in its defence. `retuned`: the last
 * path measured in or after a closing relearn phase (the re-tuned model); a path measured
 * during qra alone is left out, as qra changes no weight (it would repeat the defended one).
 */
export function runPaths(paths, schedule) {
  const first = closingAttacksFrom(schedule);
  let defended = null;
  let retuned = null;
  for (const p of paths || []) {
    if (!Array.isArray(p.alphas) || !p.alphas.length) continue;
    if (p.phase_index < first) defended = p;
    else if ((schedule || []).slice(first, p.phase_index + 1).some((ph) => RETUNING_KINDS.has(ph.kind))) retuned = p;
  }
  return { defended, retuned };
}

const hasValues = (values) => (values || []).some((v) => v !== null && v !== undefined);
const esc = (s) => String(s).replace(/&/g, "&amp;").replace(/</g, "&lt;");

/**
 * The chart's traces for runs [{id, name, color, dash, model}]: per run with a defended
 * path its ASR (solid; left out where nothing measured it, a trigger nobody knows) and CA
 * (dotted), its re-tuned ASR faint; then grey style keys for the legend (the runs' colours
 * are named in the Runs card).
 */
export function comparePathTraces(runs) {
  const traces = [];
  let anyAsr = false;
  let anyRetuned = false;
  for (const run of runs) {
    const { defended, retuned } = runPaths(run.model.paths, run.model.schedule);
    if (!defended) continue;
    const name = esc(run.name);
    const symbol = run.dash === "solid" ? "circle" : "square"; // past seven runs the colours repeat
    if (hasValues(defended.asr)) {
      anyAsr = true;
      traces.push({
        type: "scatter", mode: "lines+markers", x: defended.alphas, y: defended.asr.map(num),
        name: `${run.name}: ASR`, legendgroup: run.id, showlegend: false,
        line: { color: run.color, width: 2.5 }, marker: { color: run.color, size: 6, symbol },
        hovertemplate: `ASR %{y:.1f}%<extra>${name}</extra>`,
      });
    }
    traces.push({
      type: "scatter", mode: "lines+markers", x: defended.alphas, y: defended.ca.map(num),
      name: `${run.name}: CA`, legendgroup: run.id, showlegend: false,
      line: { color: run.color, width: 2, dash: "dot" }, marker: { color: run.color, size: 4, symbol },
      hovertemplate: `CA %{y:.1f}%<extra>${name}</extra>`,
    });
    if (retuned && hasValues(retuned.asr)) {
      anyRetuned = true;
      traces.push({
        type: "scatter", mode: "lines", x: retuned.alphas, y: retuned.asr.map(num),
        name: `${run.name}: ASR after re-tuning`, legendgroup: run.id, showlegend: false, opacity: 0.35,
        line: { color: run.color, width: 1.5 },
        hovertemplate: `ASR after re-tuning %{y:.1f}%<extra>${name}</extra>`,
      });
    }
  }
  if (!traces.length) return traces;
  const key = (name, line, extra = {}) => ({ type: "scatter", mode: "lines", x: [null], y: [null], name, line: { color: KEY_COLOR, ...line }, hoverinfo: "skip", legendgroup: `key-${name}`, ...extra });
  if (anyAsr) traces.push(key("ASR (solid)", { width: 2.5 }));
  traces.push(key("CA (dotted)", { width: 2, dash: "dot" }));
  if (anyRetuned) traces.push(key("ASR after re-tuning (faint)", { width: 1.5 }, { opacity: 0.35 }));
  return traces;
}

/** One line under the chart: which path each run shows ("demo: phase 3 (recovery), step 190"). */
export function pathsNote(runs) {
  const parts = [];
  for (const run of runs) {
    const { defended, retuned } = runPaths(run.model.paths, run.model.schedule);
    if (!defended) continue;
    parts.push(`${run.name}: ${pathLabel(defended)}${retuned ? `; faint: ${pathLabel(retuned)}` : ""}`);
  }
  return parts.join(" · ");
}

export class ComparePath {
  /** view: {runs: [{id, name, color, dash, model}]} */
  constructor(root, view) {
    this.view = view;
    this.drawn = false;
    this.key = "";
    this.plot = h("div.chart.cv-chart#cv-chart-path", { role: "img", "aria-label": "Backdoor-connected path: ASR and CA from the backdoored model to each run's defended model" });
    this.empty = h("div.chart-empty", { hidden: true });
    this.note = h("p.chart-status.muted#cv-path-note");
    this.el = h(
      "section.card.chart-card.cv-chart-card#cv-path-card",
      { "aria-label": "Backdoor-connected path" },
      h("header.card-head", h("h3", "Backdoor-connected path")),
      h(
        "p.chart-note.muted",
        "The straight line from the backdoored model (0) to each run's defended model (1), before any closing attack: a backdoor only hidden comes back just left of 1, one gone for good stays low most of the way.",
      ),
      h("div.chart-wrap", this.plot, this.empty),
      this.note,
    );
    root.append(this.el);
  }

  draw() {
    const runs = this.view.runs;
    // Redraw only when a path arrived (the runs stream many other events).
    const key = runs.map((r) => `${r.id}:${r.model.paths.length}:${(r.model.schedule || []).map((p) => p.kind)}:${r.model.active}`).join("|");
    if (key === this.key) return;
    this.key = key;
    const traces = comparePathTraces(runs);
    const some = traces.length > 0;
    // Runs recorded before paths existed, all ended: no card. A live run measures them at
    // its phase ends.
    this.el.hidden = !some && !runs.some((r) => r.model.active);
    this.empty.hidden = some;
    this.empty.textContent = "Measured at every phase end: no run has one yet.";
    this.note.textContent = some ? `Shown: ${pathsNote(runs)}.` : "";
    if (this.el.hidden) return;
    const layout = {
      margin: { l: 52, r: 36, t: 8, b: 30 },
      font: { family: "Inter, 'Segoe UI', 'DejaVu Sans', system-ui, sans-serif", size: 12, color: "#1f2933" },
      paper_bgcolor: "#ffffff",
      plot_bgcolor: "#ffffff",
      hovermode: runs.length <= 4 ? "x unified" : "closest",
      hoverlabel: { bgcolor: "#ffffff", bordercolor: "#c9d1da", font: { size: 12 } },
      showlegend: some,
      legend: { orientation: "h", x: 0, xanchor: "left", y: -0.22, yanchor: "top", font: { size: 11 } },
      xaxis: {
        range: [-0.03, 1.03], tickvals: TICKS,
        ticktext: TICKS.map((a) => (a === 0 ? "0<br>backdoored" : a === 1 ? "1<br>defended" : String(a))),
        tickangle: 0, automargin: true, zeroline: false, gridcolor: "#eef1f4", linecolor: "#c9d1da", hoverformat: ".2f",
      },
      yaxis: { range: [0, 101], ticksuffix: "%", gridcolor: "#eef1f4", zeroline: false, linecolor: "#c9d1da", automargin: true },
    };
    Plotly.react(this.plot, traces, layout, { responsive: true, displaylogo: false, modeBarButtonsToRemove: ["select2d", "lasso2d", "toImage"] });
    this.drawn = true;
  }

  destroy() {
    if (this.drawn) Plotly.purge(this.plot);
  }
}
