// The compare view, #/compare/ID,ID,...: 2 to 12 runs side by side. Each run streams as
// in its own view (history, then live); one slider moves all of them (a step, a second or
// a percent of the run, as the x-axis shows), the charts get a cursor, the heatmap table
// and the numbers follow. Runs that differ only in their seed can be drawn as one mean
// line with a min-max band. With one id it asks which runs to compare it with.

import { api } from "../core/api.js";
import { CompareCharts, X_MODES } from "./charts.js";
import { CompareHeat } from "./heatmaps.js";
import { firstPage, loadFrameMaps, loadHistory } from "./history.js";
import { CompareTables } from "./table.js";
import { h, fill, perFrame } from "../core/dom.js";
import { statusBadgeClass, statusLabel } from "../core/format.js";
import { RunModel, markSkipped } from "../run/model.js";
import { RunStream } from "../core/stream.js";
import { compareHash } from "./hash.js";
import { legendList, seedGroupName, seedGroupsList, settingsDiff } from "./layout.js";
import { renderPicker } from "./picker.js";
import { CompareSlider } from "./slider.js";
import { positionText, stepAt, xOf } from "./xaxis.js";

// Okabe-Ito (safe with the common colour-vision deficiencies; yellow left out: unreadable
// on white); past seven runs the colours repeat with dashed lines.
// Events after which the API's numbers change, and the least time between two fetches.
const SCORE_EVENTS = new Set(["measurement", "evaluation", "run_finished"]);
const SCORES_EVERY_MS = 2000;
const PALETTE = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000"];
const DASHES = ["solid", "dash"];

export function runStyle(i) {
  return { color: PALETTE[i % PALETTE.length], dash: DASHES[Math.floor(i / PALETTE.length) % DASHES.length] };
}

export class CompareView {
  constructor(root, ids, { runList } = {}) {
    this.root = root;
    this.ids = ids;
    this.runList = runList;
    this.runs = [];
    this.streams = [];
    this.xMode = "step";
    this.bands = true;
    this.singles = false;
    this.sliderX = null; // null: the end of every run
    this.ready = this.start().catch((err) => this.fail(err));
  }

  fail(err) {
    fill(this.root, h("div.notice.error", h("h2", "The comparison could not be shown"), h("p", err.detail || err.message), h("p", h("a", { href: "#/" }, "Back to the start"))));
  }

  async start() {
    if (this.ids.length < 2) {
      renderPicker(this.root, this.ids[0], this.runList);
      return;
    }
    fill(this.root, h("p.loading", "Loading the runs…"));
    // The runs' histories are asked for with their rows (compare/history.js).
    const firstPages = this.ids.map((id) => firstPage(id));
    firstPages.forEach((p) => p.catch(() => {})); // a failed page: loadHistory says so
    const info = await api.compare(this.ids);
    if (this.closed) return;
    this.info = info;
    this.groups = info.seed_groups;
    this.runs = info.runs.map((run, i) => {
      const model = new RunModel(run);
      const group = info.seed_groups.find((g) => g.includes(run.id));
      return {
        id: run.id,
        model,
        name: run.name,
        label: info.labels[run.id],
        groupName: group ? seedGroupName(info, group) : "",
        ...runStyle(i),
      };
    });
    this.layout();
    // Every run's history at once, applied before the view listens: one draw, not one per
    // event (compare/history.js); the streams carry on from there.
    const loaded = await Promise.all(this.runs.map((run) => loadHistory(run.model, { first: firstPages[this.ids.indexOf(run.id)] })));
    if (this.closed) return;
    this.loadMaps();
    this.runs.forEach((run, i) => {
      run.model.subscribe((e) => this.onEvent(run, e));
      const stream = new RunStream(run.id, {
        onEvent: (e) => run.model.apply(e),
        onSkipped: (notice) => markSkipped(run.model, notice),
        onState: (state, extra) => {
          if (state === "ended" && extra.status && extra.status !== run.model.status) {
            run.model.status = extra.status;
            run.model.notify({ type: "run_row" });
          }
        },
      });
      stream.lastSeq = loaded[i];
      this.streams.push(stream);
      stream.start();
    });
    this.refresh();
  }

  /** Every run's heatmap maps, read ahead: the table waits for them rather than asking
   * frame by frame, and the slider then finds every frame in memory. */
  loadMaps() {
    this.mapsLoading = new Set(this.runs.map((r) => r.id));
    for (const run of this.runs) {
      loadFrameMaps(run.model)
        .catch((err) => console.warn(`run ${run.id}: heatmaps are fetched when shown`, err))
        .finally(() => {
          this.mapsLoading.delete(run.id);
          if (!this.closed) this.heat.render();
        });
    }
  }

  // -- layout ------------------------------------------------------------------------
  layout() {
    const info = this.info;
    this.slider = new CompareSlider(this);
    const modeButtons = Object.entries(X_MODES).map(([mode, m]) =>
      h("button.small.ghost", { type: "button", dataset: { mode }, "aria-pressed": String(mode === this.xMode), onclick: () => this.setMode(mode) }, m.label),
    );
    this.modeButtons = modeButtons;
    const hasGroups = this.groups.length > 0;
    this.bandBox = h("input#seed-bands", { type: "checkbox", checked: this.bands, onchange: (e) => this.setBands(e.target.checked, this.singles) });
    this.singleBox = h("input#seed-singles", { type: "checkbox", checked: this.singles, onchange: (e) => this.setBands(this.bands, e.target.checked) });
    const legend = legendList(this.runs);
    this.legend = legend;
    const diffTable = settingsDiff(info, this.runs);
    const charts = h("div.cv-charts");
    const heat = h("section.card.cv-heat-card");
    const tables = h("div.cv-tables");
    fill(
      this.root,
      h(
        "div.compare-view",
        h(
          "header.page-head.cv-head",
          h("div", h("h2", `Comparing ${this.runs.length} runs`), h("p.muted", "Each colour is one run. Move the slider to see every run at the same point: the charts get a cursor, and the heatmaps and numbers follow it.")),
          h("div.row", h("button.ghost.small", { type: "button", onclick: () => this.copyLink() }, "Copy link"), (this.copied = h("span.muted.small-note"))),
        ),
        // Wide: the runs, the charts and the tables in the main column, and beside them
        // the slider over the heatmaps, on screen from the start and sticky while the main
        // column scrolls; narrow: one column, the slider (sticky) and heatmaps first
        // (styles.css, "Compare view").
        h(
          "div.cv-body",
          h(
            "div.cv-main",
            h("section.card.cv-legend-card", h("header.card-head", h("h3", "Runs"), h("span.muted.small-note", "name, state, and what sets each apart")), legend, diffTable),
            h(
              "div.cv-toolbar.card",
              h("span.muted", "x-axis:"),
              h("div.row.cv-modes", { role: "group", "aria-label": "x-axis" }, modeButtons),
              hasGroups
                ? h(
                    "div.row.cv-bands",
                    h("label", this.bandBox, " Seed groups as mean line with min–max band"),
                    h("label", this.singleBox, " also show each seed's run"),
                  )
                : h("span.muted.small-note", "No seed groups (runs that differ only in their seed)."),
              hasGroups ? seedGroupsList(this.groups, this.runs) : null,
            ),
            charts,
            tables,
          ),
          h("aside.cv-side", { "aria-label": "The position shown, and what each model looks at there" }, this.slider.el, heat),
        ),
      ),
    );
    this.charts = new CompareCharts(charts, this);
    this.heat = new CompareHeat(heat, this);
    this.tables = new CompareTables(tables, this);
    this.updateSlider = perFrame(() => this.slider.render());
  }

  copyLink() {
    const url = `${location.origin}${location.pathname}${compareHash(this.ids)}`;
    navigator.clipboard?.writeText(url).then(
      () => (this.copied.textContent = "copied"),
      () => (this.copied.textContent = url),
    );
  }

  // -- x positions (compare/xaxis.js) ------------------------------------------------
  xOf(run, step) {
    return xOf(this.xMode, run.model, step);
  }

  xMax() {
    if (this.xMode === "progress") return 100;
    return Math.max(1, ...this.runs.map((r) => this.xOf(r, r.model.lastStep)));
  }

  xRange() {
    return [0, this.xMax()];
  }

  /** The step of `run` shown at the slider's position. */
  stepOf(run) {
    return stepAt(this.xMode, run.model, this.sliderX);
  }

  positionText() {
    return positionText(this.xMode, this.sliderX);
  }

  // -- controls ------------------------------------------------------------------------
  seek(x) {
    this.sliderX = x;
    this.charts.setCursor(x);
    this.heat.render();
    this.tables.renderStep();
    this.slider.render();
  }

  setMode(mode) {
    if (mode === this.xMode) return;
    // Keep the position: the first run's step, in the new unit.
    const run = this.runs[0];
    const step = this.sliderX === null ? null : this.stepOf(run);
    this.xMode = mode;
    this.modeButtons.forEach((b) => b.setAttribute("aria-pressed", String(b.dataset.mode === mode)));
    this.sliderX = step === null ? null : this.xOf(run, step);
    this.charts.changed();
    this.charts.setCursor(this.sliderX);
    this.refresh();
  }

  setBands(bands, singles) {
    this.bands = bands;
    this.singles = singles;
    this.singleBox.disabled = !bands;
    this.root.querySelector(".compare-view").dataset.bands = bands ? (singles ? "bands+runs" : "bands") : "runs";
    this.charts.changed();
  }

  refresh() {
    this.charts.changed();
    this.heat.render();
    this.tables.render();
    this.updateSlider();
  }

  /** New measured numbers: fetch the API's scores again (at most one request in flight,
   * then a pause), and redraw the tables with them. */
  refreshScores() {
    if (this.scoresPending || this.closed) return;
    this.scoresPending = true;
    api
      .compare(this.ids)
      .then((info) => {
        if (this.closed) return;
        this.info.headline = info.headline;
        this.info.scores = info.scores;
        this.tables.render();
      })
      .catch(() => {}) // the next measurement asks again
      .finally(() => setTimeout(() => (this.scoresPending = false), SCORES_EVERY_MS));
  }

  onEvent(run, e) {
    if (e.type === "progress") return;
    if (SCORE_EVENTS.has(e.type)) this.refreshScores();
    if (e.type === "status" || e.type === "run_row") {
      const badge = this.legend.querySelector(`li[data-run="${run.id}"] .cv-status`);
      if (badge) {
        badge.className = `cv-status ${statusBadgeClass(run.model.status)}`;
        badge.textContent = statusLabel(run.model.status);
      }
    }
    this.refresh();
  }

  /** A newer row of one of the runs, from the run list. */
  runUpdate(row) {
    const run = this.runs.find((r) => r.id === row.id);
    if (run) run.model.updateRun(row, { status: false });
  }

  destroy() {
    this.closed = true;
    this.streams.forEach((s) => s.close());
    this.charts?.destroy();
    this.heat?.destroy();
  }
}


