// Plotly charts of a run: ASR + CA, TAR, losses. Per-step losses are appended to the
// traces' arrays; monitor measurements (which arrive late and out of order) are rebuilt
// from the model's step-ordered series, with gaps where nothing was measured. Phase bands,
// early stops, schedule-edit markers and the slider's cursor are layout shapes. A chart
// that changed is drawn with one Plotly.react, batched per animation frame and kept to a
// share of the page's time (dom.perFrame), so a long run's charts never hold up its stream.

import { h, perFrame } from "../../core/dom.js";
import { earlyStopText, num } from "../../core/format.js";
import { withGaps } from "../../core/series.js";
import { markAnnotation, markLabels, MARK_ROW_PX, usesEwc } from "./marks.js";
import { baseLayout, chartSpecs, COLOR, lineMode, phaseColor, PLOT_CONFIG, shownAs, traceOf } from "./specs.js";

/* global Plotly */

const BASE_TOP = 22; // px over the plot area: the phase labels' row

/** The three charts of one run. */
export class Charts {
  constructor(root, model) {
    this.root = root;
    this.model = model;
    this.cursor = null; // step shown by the slider; null when following live
    this.specs = chartSpecs();
    this.data = this.specs.map((spec) => spec.traces.map((t) => traceOf(t, spec.unit)));
    this.dataChanged = this.specs.map(() => true); // per chart: draw its traces again
    this.revision = 0; // layout.datarevision: the traces' arrays grow in place
    this.seen = new Set(); // "chart:trace" of per-step lines that got a value
    this.measuredDirty = true; // measurement and evaluation traces are rebuilt whole
    this.layouts = this.specs.map((spec) => baseLayout(spec));
    this.layoutKey = "";
    this.ready = false;
    this.flush = perFrame(() => this.draw(), { share: 0.2 });
    this.panels = this.specs.map((spec) => this.panel(spec));
    this.init();
    this.unsubscribe = model.subscribe((e) => this.onEvent(e));
    // Whatever the model already holds (a view built after events arrived).
    model.steps.forEach((s) => this.addStep(s));
  }

  panel(spec) {
    const plot = h(`div.chart#chart-${spec.id}`, { role: "img", "aria-label": spec.title });
    const empty = h("div.chart-empty", "No steps yet: the charts start when unlearning begins.");
    const download = h(
      "button.ghost.small",
      { type: "button", title: "Download this chart as PNG", onclick: () => this.download(spec) },
      "PNG",
    );
    const note = h("p.chart-note.muted", spec.note || "");
    let picker = null;
    if (spec.views) {
      picker = h(
        "select#tar-metric",
        { "aria-label": "What the chart shows", onchange: () => this.setView(spec, picker.value) },
        Object.entries(spec.views).map(([key, v]) => h("option", { value: key, title: v.hint }, v.label)),
      );
    }
    const el = h(
      "section.card.chart-card",
      { "aria-label": spec.title },
      h("header.card-head", h("h3", spec.title), picker ? h("label.inline", "Show ", picker) : "", download),
      note,
      h("div.chart-wrap", plot, empty),
    );
    this.root.append(el);
    return { spec, plot, empty, note };
  }

  /** The TAR chart's selector: show one localisation metric's traces. */
  setView(spec, view) {
    const panel = this.panels.find((p) => p.spec === spec);
    const v = spec.views[view];
    if (!panel || !v) return;
    spec.view = view;
    spec.refLine = v.refLine;
    const c = this.specs.indexOf(spec);
    this.data[c].forEach((trace, i) => (trace.visible = shownAs(spec.traces[i], view)));
    this.layouts[c] = { ...this.layouts[c], yaxis: { ...this.layouts[c].yaxis, title: { text: v.axis } } };
    this.dataChanged[c] = true;
    this.layoutKey = ""; // the reference line changed
    this.flush();
  }

  /** The TAR chart's note: the selected metric and which trigger region it is measured on. */
  regionNote(spec) {
    const region = this.model.started?.trigger_region;
    const v = spec.views[spec.view];
    const where = region ? `Trigger region: ${region}.` : "";
    return `${v.label}: ${v.hint}. ${where}`.trim();
  }

  async init() {
    await Promise.all(
      this.panels.map(({ plot }, c) => Plotly.newPlot(plot, this.data[c], this.layouts[c], PLOT_CONFIG)),
    );
    if (this.closed) return; // destroyed while Plotly drew
    // A click on the EWC entry: its line needs the right axis (or lets it go again).
    this.panels.forEach(({ plot, spec }, c) => {
      if (!spec.yaxis2) return;
      plot.on("plotly_restyle", () => {
        this.showEwc(c, spec, usesEwc(this.model.schedule));
        this.flush();
      });
    });
    this.ready = true;
    this.flush();
  }

  destroy() {
    this.closed = true;
    this.unsubscribe();
    this.ready = false; // a draw already scheduled for the next frame does nothing
    this.panels.forEach(({ plot }) => Plotly.purge(plot));
  }

  onEvent(e) {
    if (e.type === "step") this.addStep(e);
    else if (e.type === "measurement" || e.type === "evaluation") this.measuredDirty = true;
    else if (e.type === "phase_start" && e.phase_index > 0) this.addBreak(e.step);
    if (e.type !== "frames" && e.type !== "progress") this.flush();
  }

  addStep(s) {
    this.specs.forEach((spec, c) =>
      spec.traces.forEach((t, i) => {
        if (!t.from || t.key) return;
        const v = t.from(s);
        if (v === undefined || v === null) return;
        this.data[c][i].x.push(s.step);
        this.data[c][i].y.push(num(v));
        this.seen.add(`${c}:${i}`);
        this.dataChanged[c] = true;
      }),
    );
  }

  /** The configured measuring interval of `key` in steps (0 when unknown). */
  interval(key) {
    const mon = this.model.config?.monitor || {};
    return Number(key.startsWith("tar") ? mon.tar_every : mon.eval_every) || 0;
  }

  /** Measurement and evaluation traces, whole, from the model's step-ordered data. */
  rebuildMeasured(c) {
    const spec = this.specs[c];
    spec.traces.forEach((t, i) => {
      const trace = this.data[c][i];
      if (t.key) {
        const { steps, values } = this.model.series(t.key);
        Object.assign(trace, withGaps(steps, values, { expected: this.interval(t.key) }));
        trace.mode = lineMode(t, steps.length);
      } else if (t.fromEval) {
        const evals = this.model.evals.filter((e) => t.fromEval(e) !== null && t.fromEval(e) !== undefined);
        trace.x = evals.map((e) => e.step);
        trace.y = evals.map((e) => num(t.fromEval(e)));
        trace.text = evals.map((e) => e.label);
      } else return;
      this.dataChanged[c] = true;
    });
  }

  /** A gap in per-phase lines, so a later phase of the same kind starts a new line. */
  addBreak(step) {
    this.specs.forEach((spec, c) =>
      spec.traces.forEach((t, i) => {
        // only lines with data: an empty one stays out of the legend (kinds not run)
        if (!t.breaks || !this.seen.has(`${c}:${i}`)) return;
        this.data[c][i].x.push(step);
        this.data[c][i].y.push(null);
        this.dataChanged[c] = true;
      }),
    );
  }

  /** The slider's step (a vertical cursor), or null to hide it. */
  setCursor(step) {
    this.cursor = step;
    this.flush();
  }

  draw() {
    if (!this.ready) return;
    if (this.measuredDirty) this.specs.forEach((spec, c) => this.rebuildMeasured(c));
    this.measuredDirty = false;
    const layoutChanged = this.relayout();
    this.panels.forEach(({ plot }, c) => {
      if (!this.dataChanged[c] && !layoutChanged) return;
      // One redraw per chart: new layout object, the same traces (arrays grown in place,
      // which the new datarevision tells Plotly.react about).
      this.revision += 1;
      Plotly.react(plot, this.data[c], { ...this.layouts[c], datarevision: this.revision }, PLOT_CONFIG);
      this.dataChanged[c] = false;
    });
    const hasData = this.model.steps.length > 0 || this.model.evals.length > 0;
    const waiting = this.model.active
      ? "No steps yet: the charts start when unlearning begins."
      : "This run ended before unlearning began, so there is nothing to plot.";
    this.panels.forEach(({ empty, spec, note }) => {
      empty.hidden = hasData;
      empty.textContent = waiting;
      if (spec.views) note.textContent = this.regionNote(spec);
    });
  }

  /** Bands, edit markers, cursor and x range into the layouts; false when none changed. */
  relayout() {
    const m = this.model;
    const spans = m.phaseSpans();
    const edits = m.edits.filter((e) => e.accepted);
    const end = m.chartEnd();
    const stops = m.earlyStops();
    const found = m.found ? m.found.step : m.triggerUnknown ? -1 : null;
    const ewc = usesEwc(m.schedule);
    const key = JSON.stringify([spans, edits.map((e) => e.step), stops.map((p) => p.end), this.cursor, end, found, ewc]);
    if (key === this.layoutKey) return false;
    this.layoutKey = key;
    this.panels.forEach(({ spec, plot }, c) => {
      const shapes = [];
      const annotations = [];
      const margin = plot.layout?.margin || {};
      const width = plot.clientWidth - (margin.l ?? 56) - (margin.r ?? 16); // the plot area's
      for (const s of spans) {
        shapes.push({
          type: "rect", xref: "x", yref: "paper", x0: s.start, x1: s.end, y0: 0, y1: 1,
          fillcolor: phaseColor(s.kind).fill(), opacity: s.planned && !s.current ? 0.45 : 1,
          line: { width: 0 }, layer: "below",
        });
        // Above the plot area; a band too narrow for its label gets just its number.
        const full = `${s.index + 1} · ${s.kind}${s.current ? " (now)" : s.planned ? " (planned)" : ""}${s.reason === "early_stop" ? " · stopped early" : ""}`;
        const right = Math.min(s.end, end); // the part of the band in view
        const px = ((right - s.start) / end) * width;
        const text = full.length * 6.5 < px ? full : px >= 10 ? String(s.index + 1) : "";
        if (!text) continue;
        annotations.push({
          x: (s.start + right) / 2, y: 1, xref: "x", yref: "paper", yanchor: "bottom",
          showarrow: false, font: { size: 11, color: "#52606d" }, text, hovertext: full,
        });
      }
      // Early stops, edits, a recovered trigger: a line each through the plot, their labels
      // in a row above it (marks.js), where they hide no data; marks that would print on
      // top of each other share one label.
      const marks = [];
      for (const p of stops) {
        shapes.push({
          type: "line", xref: "x", yref: "paper", x0: p.end, x1: p.end, y0: 0, y1: 1,
          line: { color: "#8a5300", width: 1.5, dash: "dot" },
        });
        // the reason where ASR is drawn; elsewhere the short word (the hover has it all)
        marks.push({ step: p.end, text: spec.id === "quality" ? earlyStopText(p, true) : "early stop", short: spec.id === "quality" ? `${p.kind} stopped early` : "early stop", hover: earlyStopText(p, false), color: "#8a5300", name: "early-stop" });
      }
      for (const e of edits) {
        shapes.push({
          type: "line", xref: "x", yref: "paper", x0: e.step, x1: e.step, y0: 0, y1: 1,
          line: { color: "#6b4fa0", width: 1.5, dash: "dash" },
        });
        marks.push({ step: e.step, text: "✎ edit", hover: `Schedule edited at step ${e.step}`, color: "#6b4fa0", name: "edit-marker" });
      }
      if (spec.id !== "loss") triggerMarks(m, spec, shapes, annotations, marks);
      markLabels(marks, end, width).forEach((label) => annotations.push(markAnnotation(label)));
      if (spec.refLine) {
        shapes.push({
          type: "line", xref: "paper", yref: "y", x0: 0, x1: 1, y0: spec.refLine.y, y1: spec.refLine.y,
          line: { color: "#7b8794", width: 1, dash: "dot" },
        });
        // at the left, just over the line: a backdoored model's TAR (or AUC) starts far
        // above it, and a run's end, where the line is approached, stays clear
        annotations.push({
          x: 0, y: spec.refLine.y, xref: "paper", yref: "y", xanchor: "left", yanchor: "bottom",
          showarrow: false, text: spec.refLine.text, font: { size: 10, color: "#616e7c" }, name: "ref-line",
        });
      }
      if (this.cursor !== null) {
        shapes.push({
          type: "line", xref: "x", yref: "paper", x0: this.cursor, x1: this.cursor, y0: 0, y1: 1,
          line: { color: COLOR.ink, width: 2 }, name: "cursor",
        });
      }
      const layout = this.layouts[c];
      const top = marks.length ? BASE_TOP + MARK_ROW_PX : BASE_TOP; // room for the marks' row
      this.layouts[c] = { ...layout, shapes, annotations, margin: { ...layout.margin, t: top }, xaxis: { ...layout.xaxis, range: [0, end] } };
      if (spec.yaxis2) this.showEwc(c, spec, ewc);
    });
    return true;
  }

  /** The EWC penalty's legend entry only when a phase uses EWC; its line and right axis
   * once the viewer shows it (a click on the entry: legendonly until then). */
  showEwc(c, spec, ewc) {
    const i = spec.traces.findIndex((t) => t.yaxis === "y2");
    const trace = this.data[c][i];
    if (!trace) return;
    // a legend click sets the trace's `visible` in place (Plotly keeps our trace objects)
    const visible = !ewc ? false : trace.visible === true ? true : "legendonly";
    // not drawn, it must not name the right axis either: Plotly would draw that axis for it
    Object.assign(trace, { visible, yaxis: visible === true ? "y2" : "y" });
    const { yaxis2, ...layout } = this.layouts[c];
    this.layouts[c] = visible === true
      ? { ...layout, yaxis2: yaxis2 || { ...spec.yaxis2, automargin: true }, margin: { ...layout.margin, r: 64 } }
      : { ...layout, margin: { ...layout.margin, r: 16 } };
    this.dataChanged[c] = true;
  }


  download(spec) {
    const { plot } = this.panels.find((p) => p.spec === spec);
    const step = this.cursor ?? this.model.lastStep;
    const figure = {
      data: plot.data,
      layout: {
        ...plot.layout,
        title: { text: `${this.model.name} (${this.model.id}): ${spec.title}`, x: 0.01, font: { size: 15 } },
        margin: { ...plot.layout.margin, t: 48 },
      },
    };
    return Plotly.downloadImage(figure, {
      format: "png",
      width: 1200,
      height: 520,
      filename: `unlearnscope-${this.model.id}-${spec.id}-step${step}`,
    });
  }
}

/** A user's model with an unknown trigger: a note where ASR and TAR would be, then the
 * step a phase recovered a trigger (from there on they are measured with it): a mark. */
function triggerMarks(m, spec, shapes, annotations, marks) {
  if (m.triggerUnknown) {
    annotations.push({
      x: 0.5, y: spec.id === "quality" ? 0.5 : 0.6, xref: "paper", yref: "paper", showarrow: false,
      text: spec.id === "quality" ? "Trigger unknown:<br>ASR and RA wait for a recovered one" : "Trigger unknown:<br>no trigger region to measure yet",
      font: { size: 12, color: "#52606d" }, bgcolor: "rgba(255, 255, 255, 0.85)", name: "trigger-unknown",
    });
    return;
  }
  if (!m.found) return;
  shapes.push({
    type: "line", xref: "x", yref: "paper", x0: m.found.step, x1: m.found.step, y0: 0, y1: 1,
    line: { color: "#0b6e4f", width: 1.5, dash: "dashdot" },
  });
  marks.push({
    step: m.found.step, text: "trigger recovered", color: "#0b6e4f", name: "trigger-found",
    hover: `Trigger ${m.found.source}, class ${m.found.target_class}: from here on ASR and TAR are measured with it`,
  });
}
