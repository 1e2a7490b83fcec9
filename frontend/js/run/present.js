// Presentation mode: the run view as a full-screen layout for a projector. Big before ->
// now numbers, one large chart (ASR and CA with the phases), the heatmaps large; no forms,
// no lists. Live it follows the run; Replay plays a recorded run at a chosen speed.
// Opened by the header's "Present" button or `#/run/ID?present=1`; Esc leaves it.

import { h, fill, perFrame } from "../core/dom.js";
import { lastAtOrBefore } from "../core/search.js";
import { probeImage } from "./heatmaps/cells.js";
import { drawCell } from "./heatmaps/draw.js";
import { api } from "../core/api.js";
import { phaseColor } from "./charts/specs.js";
import { verdictLine } from "../core/verdict.js";
import { defendedStep, modelAt, stageContext } from "./stage.js";

/** A phase band, a little stronger than on the run page's charts. */
function bandFill(kind) {
  const c = phaseColor(kind);
  return c.fill(Math.round(c.alpha * 133) / 100);
}

/* global Plotly */

const SPEEDS = [5, 10, 20, 50]; // replay speed, steps per second
const PROBES = 4; // probe samples shown (the first ones)
const pct = (v) => (v === null || v === undefined ? "–" : `${Number(v).toFixed(1)}%`);
const fix = (v) => (v === null || v === undefined ? "–" : Number(v).toFixed(2));

export class Presenter {
  static current = null;

  /** Open presentation mode over the run of `model` (one at a time). */
  static open(model, { fullscreen = false } = {}) {
    Presenter.current?.close();
    Presenter.current = new Presenter(model, fullscreen);
    return Presenter.current;
  }

  constructor(model, fullscreen) {
    this.model = model;
    this.cursor = null; // null: follow the newest step (live); a number while replaying
    this.speed = SPEEDS[1];
    this.measured = new Map(); // step -> {asr, ca, tar_median}
    this.render = perFrame(() => this.draw());
    this.build();
    document.body.classList.add("presenting");
    document.body.append(this.root);
    setUrlFlag(true);
    this.onKey = (e) => {
      if (e.key === "Escape") this.close();
      else if (e.key === " " && e.target === document.body) {
        e.preventDefault();
        this.toggleReplay();
      }
    };
    this.onHash = () => this.close({ keepUrl: true });
    this.onFullscreen = () => !document.fullscreenElement && this.wasFullscreen && this.close();
    document.addEventListener("keydown", this.onKey);
    window.addEventListener("hashchange", this.onHash);
    document.addEventListener("fullscreenchange", this.onFullscreen);
    if (fullscreen && document.documentElement.requestFullscreen) {
      document.documentElement.requestFullscreen().then(() => (this.wasFullscreen = true), () => {});
    }
    this.unsubscribe = model.subscribe((e) => {
      if (e.type === "measurement") this.addMeasurement(e);
      if (e.type !== "progress") this.render();
    });
    this.loadMeasurements();
    this.draw();
  }

  build() {
    this.title = h("h1.pr-title");
    this.where = h("div.pr-where#present-where");
    this.verdict = h("div.pr-verdict"); // the API's verdict, at the run's end
    this.speedSelect = h(
      "select.pr-speed#present-speed",
      { "aria-label": "Replay speed", onchange: (e) => (this.speed = Number(e.target.value)) },
      SPEEDS.map((s) => h("option", { value: String(s), selected: s === this.speed }, `${s} steps/s`)),
    );
    this.replayButton = h("button.pr-button#present-replay", { type: "button", onclick: () => this.toggleReplay() }, "▶ Replay");
    this.liveButton = h("button.pr-button#present-live", { type: "button", onclick: () => this.follow() }, "Live");
    const exit = h("button.pr-button.pr-exit#present-exit", { type: "button", onclick: () => this.close(), title: "Leave presentation mode (Esc)" }, "✕ Esc");
    this.numbers = h("div.pr-numbers#present-numbers");
    this.chart = h("div.pr-chart#present-chart");
    this.grid = h("div.pr-grid#present-grid");
    this.root = h(
      "div.presenter#presenter",
      { role: "dialog", "aria-modal": "true", "aria-label": "Presentation mode" },
      h("header.pr-head", h("div.pr-head-left", this.title, this.where, this.verdict), h("div.pr-controls", this.liveButton, this.speedSelect, this.replayButton, exit)),
      this.numbers,
      h("div.pr-main", h("section.pr-chart-box", h("h2", "Attack success rate and clean accuracy"), this.chart), h("section.pr-grid-box", h("h2", "What the model looks at ", h("span.pr-note", "left: clean · right: with the trigger")), this.grid)),
    );
  }

  close({ keepUrl = false } = {}) {
    if (this.closed) return;
    this.closed = true;
    this.stopReplay();
    this.unsubscribe();
    document.removeEventListener("keydown", this.onKey);
    window.removeEventListener("hashchange", this.onHash);
    document.removeEventListener("fullscreenchange", this.onFullscreen);
    if (document.fullscreenElement) document.exitFullscreen().catch(() => {});
    if (window.Plotly) Plotly.purge(this.chart);
    this.root.remove();
    document.body.classList.remove("presenting");
    if (!keepUrl) setUrlFlag(false);
    if (Presenter.current === this) Presenter.current = null;
  }

  // -- data ------------------------------------------------------------------------------
  addMeasurement(e) {
    const row = this.measured.get(e.step) || { step: e.step };
    for (const k of ["asr", "ca", "tar_median"]) if (e[k] !== null && e[k] !== undefined) row[k] = e[k];
    this.measured.set(e.step, row);
  }

  /** Measurements recorded before this view opened (the model's history may lack them). */
  async loadMeasurements() {
    let after = 0;
    try {
      for (;;) {
        const r = await fetch(`/api/runs/${encodeURIComponent(this.model.id)}/events?type=measurement&limit=5000&after=${after}`);
        if (!r.ok) return;
        const page = await r.json();
        page.events.forEach((e) => this.addMeasurement(e));
        if (page.events.length < 5000 || this.closed) break;
        after = page.events[page.events.length - 1].seq;
      }
    } catch {
      return; // live measurements still arrive through the model
    }
    this.render();
  }

  rows() {
    return [...this.measured.values()].sort((a, b) => a.step - b.step);
  }

  /** Newest `key` at or before `step`: a measurement or a full evaluation. */
  latest(step, key) {
    let best = null;
    for (const r of [...this.measured.values(), ...this.model.evals]) {
      if (r[key] !== null && r[key] !== undefined && r.step <= step && (!best || r.step >= best.step)) best = r;
    }
    return best ? best[key] : null;
  }

  shownStep() {
    const m = this.model;
    return this.cursor ?? Math.max(m.lastStep, m.step, ...this.model.evals.map((e) => e.step));
  }

  // -- replay ----------------------------------------------------------------------------
  toggleReplay() {
    if (this.timer) return this.stopReplay();
    const end = Math.max(this.model.step, this.model.lastStep);
    if (this.cursor === null || this.cursor >= end) this.cursor = 0;
    let last = performance.now();
    this.timer = setInterval(() => {
      const now = performance.now();
      const end2 = Math.max(this.model.step, this.model.lastStep);
      this.cursor = Math.min(end2, this.cursor + ((now - last) / 1000) * this.speed);
      last = now;
      if (this.cursor >= end2) this.stopReplay();
      this.render();
    }, 50);
    this.render();
  }

  stopReplay() {
    clearInterval(this.timer);
    this.timer = null;
    this.render();
  }

  follow() {
    this.stopReplay();
    this.cursor = null;
    this.render();
  }

  // -- drawing ---------------------------------------------------------------------------
  draw() {
    if (this.closed) return;
    const m = this.model;
    const step = Math.floor(this.shownStep());
    const phase = m.phases.filter((p) => p && p.start < step).pop();
    const where = phase ? `phase ${phase.index + 1} of ${m.schedule.length} · ${phase.kind}` : "before unlearning";
    this.title.textContent = m.name;
    const mode = this.cursor === null ? (m.active ? "live" : m.status) : "replay";
    const of = m.active ? ` of ${Math.max(m.totalSteps, m.step)}` : ` of ${Math.max(m.step, m.lastStep)}`;
    fill(this.where, h("span.pr-step#present-step", `Step ${step}`), `${of} · ${where} · `, h(`span.pr-mode.pr-${mode}`, mode));
    this.replayButton.textContent = this.timer ? "❚❚ Pause" : "▶ Replay";
    this.liveButton.hidden = this.cursor === null;
    this.liveButton.textContent = m.active ? "Live" : "End";
    // the verdict once the run finished, when the end is shown (not part-way through a replay)
    const atEnd = this.cursor === null || this.cursor >= Math.max(m.step, m.lastStep);
    fill(this.verdict, atEnd ? verdictLine(m.run?.verdict, "present-verdict") : null);
    this.drawNumbers(step);
    this.drawChart(step);
    this.drawGrid(step);
  }

  drawNumbers(step) {
    const m = this.model;
    const before = m.evaluation("before");
    // The big numbers are the model the verdict judges: past the defence's end, when the
    // schedule closes with attack phases (relearn, qra), they stay at the defended model
    // and what the attack did is a note under them (run/stage.js, as the header does).
    const ctx = stageContext(m);
    const defended = defendedStep(m.schedule || [], m.phases, ctx.isAttack);
    const attacked = defended !== null && step > defended;
    const at = attacked ? defended : step;
    const stage = step > 0 ? modelAt(step, ctx).label : "";
    const broken = m.run?.verdict?.outcome === "broken";
    const big = (id, name, key, f, good) => {
      const now = this.latest(at, key);
      const ok = now === null || now === undefined ? "" : good(now, before?.[key]) ? ".pr-good" : ".pr-bad";
      const after = attacked ? this.latest(step, key) : null;
      return h(
        `div.pr-num#present-${id}`,
        h("div.pr-num-name", name),
        h("div.pr-num-values", h("span.pr-before", before ? f(before[key]) : "–"), h("span.pr-arrow", "→"), h(`span.pr-now${ok}`, f(now))),
        step > 0 ? h("div.pr-num-stage", attacked ? `after the defence; then ${stage}: ${f(after)}` : stage) : null,
      );
    };
    // coloured against the run's own success criteria (config `success`, verdict.py's bar)
    const bar = { asr_below: 10, ca_kept_from: 95, ...(m.config?.success || {}) };
    fill(
      this.numbers,
      big("asr", "Attack success rate", "asr", pct, (v) => v < bar.asr_below),
      // a model at chance level is broken whatever it started from (the verdict says so)
      big("ca", "Clean accuracy", "ca", pct, (v, b) => !broken && (b === undefined || v >= (bar.ca_kept_from / 100) * b)),
      big("tar", "Trigger attention (TAR)", "tar_median", fix, (v) => v <= 1),
    );
  }

  drawChart(step) {
    if (!window.Plotly) return;
    const m = this.model;
    const rows = this.rows().filter((r) => r.step <= step);
    const evals = m.evals.filter((e) => e.step <= step);
    const end = Math.max(m.active ? m.totalSteps : 0, m.step, m.lastStep, 1);
    const line = (name, key, color) => ({ type: "scatter", mode: "lines", name, x: rows.filter((r) => r[key] != null).map((r) => r.step), y: rows.filter((r) => r[key] != null).map((r) => r[key]), line: { color, width: 5 } });
    const marks = (name, key, color) => ({ type: "scatter", mode: "markers", name, x: evals.map((e) => e.step), y: evals.map((e) => e[key]), marker: { color, size: 16, symbol: "diamond" }, showlegend: false });
    const shapes = m.phases.filter(Boolean).map((p) => ({ type: "rect", xref: "x", yref: "paper", x0: p.start, x1: p.end ?? Math.max(p.start, m.step), y0: 0, y1: 1, fillcolor: bandFill(p.kind), line: { width: 0 }, layer: "below" }));
    m.phases.filter((p) => p && p.start > 0).forEach((p) => shapes.push({ type: "line", xref: "x", yref: "paper", x0: p.start, x1: p.start, y0: 0, y1: 1, line: { color: "#9aa5b1", width: 2 }, layer: "below" }));
    shapes.push({ type: "line", xref: "x", yref: "paper", x0: step, x1: step, y0: 0, y1: 1, line: { color: "#1f2933", width: 3 } });
    const fontSize = Math.max(14, Math.round(window.innerHeight / 50));
    const layout = {
      margin: { l: 70, r: 20, t: 10, b: 50 }, paper_bgcolor: "#fff", plot_bgcolor: "#fff",
      font: { size: fontSize, color: "#1f2933" }, showlegend: true,
      legend: { orientation: "h", x: 0, y: 1.02, yanchor: "bottom", font: { size: fontSize + 2 } },
      xaxis: { title: { text: "step" }, range: [0, end], gridcolor: "#e4e7eb" },
      yaxis: { range: [0, 101], ticksuffix: "%", gridcolor: "#e4e7eb" }, shapes,
    };
    const data = [line("ASR", "asr", "#D55E00"), line("CA", "ca", "#0072B2"), marks("ASR", "asr", "#D55E00"), marks("CA", "ca", "#0072B2")];
    Plotly.react(this.chart, data, layout, { displayModeBar: false, responsive: true });
  }

  drawGrid(step) {
    const m = this.model;
    if (!m.probes || !m.frameSteps.length) {
      fill(this.grid, h("p.pr-empty", m.active ? "Heatmaps appear once unlearning starts." : "No heatmaps were recorded."));
      this.cells = null;
      return;
    }
    const steps = [...m.frameSteps].sort((a, b) => a - b);
    let i = lastAtOrBefore(steps, step);
    while (i > 0 && !m.frames.get(steps[i])?.maps) i -= 1; // nearest earlier frame with maps
    const frame = m.frames.get(steps[Math.max(i, 0)]);
    if (!frame?.maps) return this.fetchMaps(steps[Math.max(lastAtOrBefore(steps, step), 0)]);
    const count = Math.min(PROBES, frame.count, m.probes.indices.length);
    if (!this.cells || this.cells.length !== count) this.buildCells(count);
    const classes = m.classes || [];
    this.cells.forEach(({ canvases, labels, title }, p) => {
      canvases.forEach((c, v) => {
        const n = frame.size * frame.size;
        drawCell(c, { view: "spots", image: probeImage(m.probes, p, v), heat: frame.maps.subarray((p * 2 + v) * n, (p * 2 + v + 1) * n), size: frame.size, box: m.started?.trigger_box });
      });
      const name = (c) => classes[c] ?? String(c);
      title.textContent = name(m.probes.labels[p]);
      frame.preds[p].forEach((c, v) => {
        const hit = v === 1 && c === m.targetClass && m.probes.labels[p] !== m.targetClass;
        fill(labels[v], h(hit ? "b.pr-hit" : "b", `→ ${name(c)}`));
      });
    });
  }

  buildCells(count) {
    this.cells = [];
    fill(this.grid);
    for (let p = 0; p < count; p++) {
      const canvases = [h("canvas"), h("canvas")];
      const labels = [h("figcaption"), h("figcaption")];
      const title = h("div.pr-cap");
      this.grid.append(h("div.pr-probe", title, h("div.pr-pair", h("figure", canvases[0], labels[0]), h("figure", canvases[1], labels[1]))));
      this.cells.push({ canvases, labels, title });
    }
  }

  async fetchMaps(step) {
    if (this.fetching === step) return;
    this.fetching = step;
    try {
      const { maps } = await api.frame(this.model.id, step);
      const f = this.model.frames.get(step);
      if (f) Object.assign(f, { maps, missing: false });
      this.render();
    } catch {
      // leave the previous heatmaps up
    } finally {
      this.fetching = null;
    }
  }
}

/** Keep `present=1` in the URL while presenting (reload stays), without a route change. */
function setUrlFlag(on) {
  const [path, query = ""] = location.hash.replace(/^#/, "").split("?");
  const params = new URLSearchParams(query);
  if (on) params.set("present", "1");
  else params.delete("present");
  const q = params.toString();
  history.replaceState(null, "", `#${path}${q ? `?${q}` : ""}`);
}

/** Whether the URL asks for presentation mode. */
export function presentRequested() {
  const query = location.hash.split("?")[1] || "";
  return new URLSearchParams(query).get("present") === "1";
}
