// The compare view, #/compare/ID,ID,...: 2 to 12 runs side by side. Each run streams as
// in its own view (history, then live); one slider moves all of them (a step, a second or
// a percent of the run, as the x-axis shows), the charts get a cursor, the heatmap table
// and the numbers follow. Runs that differ only in their seed can be drawn as one mean
// line with a min-max band. With one id it asks which runs to compare it with.

import { api } from "./api.js";
import { CompareCharts, X_MODES } from "./comparecharts.js";
import { CompareHeat } from "./compareheat.js";
import { CompareTables } from "./comparetable.js";
import { h, fill, perFrame } from "./dom.js";
import { statusBadgeClass, statusLabel } from "./format.js";
import { RunModel, markSkipped } from "./model.js";
import { RunStream } from "./stream.js";

export const MAX_COMPARE = 12;
// Okabe-Ito (safe with the common colour-vision deficiencies; yellow left out: unreadable
// on white); past seven runs the colours repeat with dashed lines.
const PALETTE = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000"];
const DASHES = ["solid", "dash"];

export function runStyle(i) {
  return { color: PALETTE[i % PALETTE.length], dash: DASHES[Math.floor(i / PALETTE.length) % DASHES.length] };
}

export function compareHash(ids) {
  return `#/compare/${ids.map(encodeURIComponent).join(",")}`;
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
      this.picker();
      return;
    }
    fill(this.root, h("p.loading", "Loading the runs…"));
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
    for (const run of this.runs) {
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
      this.streams.push(stream);
      stream.start();
    }
    this.refresh();
  }

  // -- one id: pick the runs to compare it with --------------------------------------
  picker() {
    const first = this.ids[0];
    const runs = [...(this.runList?.runs.values() || [])].sort((a, b) => (a.created_at < b.created_at ? 1 : -1));
    const me = runs.find((r) => r.id === first);
    const same = (r) => me && r.config?.data?.name === me.config?.data?.name && r.config?.model?.name === me.config?.model?.name;
    const others = runs.filter((r) => r.id !== first).sort((a, b) => Number(same(b)) - Number(same(a)));
    const chosen = new Set();
    const go = h("button.primary#compare-picked", { type: "button", disabled: true, onclick: () => (location.hash = compareHash([first, ...chosen])) }, "Compare");
    fill(
      this.root,
      h(
        "section.card.cv-picker",
        h("h2", `Compare “${me?.name || first}” with…`),
        h("p.muted", `Tick up to ${MAX_COMPARE - 1} runs. Runs on the same data and model come first.`),
        h(
          "ul.cv-pick-list",
          others.map((r) =>
            h(
              "li",
              h(
                "label",
                h("input", {
                  type: "checkbox",
                  value: r.id,
                  onchange: (e) => {
                    if (e.target.checked) chosen.add(r.id);
                    else chosen.delete(r.id);
                    go.disabled = chosen.size < 1 || chosen.size > MAX_COMPARE - 1;
                  },
                }),
                ` ${r.name} `,
                h("span", { class: statusBadgeClass(r.status) }, statusLabel(r.status)),
                h("span.muted", ` ${r.config?.data?.name} · ${r.config?.model?.name}`),
              ),
            ),
          ),
        ),
        others.length ? go : h("p", "There are no other runs yet. ", h("a", { href: "#/new" }, "Start one.")),
      ),
    );
  }

  // -- layout ------------------------------------------------------------------------
  layout() {
    const info = this.info;
    this.slider = h("input#compare-slider", { type: "range", min: "0", max: "0", step: "1", value: "0", "aria-label": "Position shown in every run", oninput: () => this.seek(Number(this.slider.value)) });
    this.sliderLabel = h("span.scrub-label#compare-step-label");
    this.endButton = h("button.toggle#compare-end", { type: "button", "aria-pressed": "true", onclick: () => this.seek(null) }, "Latest");
    const modeButtons = Object.entries(X_MODES).map(([mode, m]) =>
      h("button.small.ghost", { type: "button", dataset: { mode }, "aria-pressed": String(mode === this.xMode), onclick: () => this.setMode(mode) }, m.label),
    );
    this.modeButtons = modeButtons;
    const hasGroups = this.groups.length > 0;
    this.bandBox = h("input#seed-bands", { type: "checkbox", checked: this.bands, onchange: (e) => this.setBands(e.target.checked, this.singles) });
    this.singleBox = h("input#seed-singles", { type: "checkbox", checked: this.singles, onchange: (e) => this.setBands(this.bands, e.target.checked) });
    const legend = h(
      "ul.cv-legend#compare-legend",
      this.runs.map((r) =>
        h(
          "li",
          { dataset: { run: r.id } },
          h(
            "div.cv-legend-top",
            h("span.swatch", { class: `swatch dash-${r.dash}`, style: { background: r.color } }),
            h("a.cv-legend-name", { href: `#/run/${encodeURIComponent(r.id)}`, title: r.name }, r.name),
            h("span", { class: `cv-status ${statusBadgeClass(r.model.status)}` }, statusLabel(r.model.status)),
          ),
          h("div.muted.cv-differs", r.label),
        ),
      ),
    );
    this.legend = legend;
    // Differences inside the schedules are one row: each run's schedule in words (the
    // paths that differ are listed in its tooltip).
    const inSchedule = Object.keys(info.diff).filter((p) => p.startsWith("schedule."));
    const diffRows = Object.entries(info.diff).filter(([p]) => !p.startsWith("schedule."));
    if (inSchedule.length) {
      diffRows.push(["schedule", this.runs.map((r) => scheduleText(r.model.schedule)), `${inSchedule.length} schedule fields differ: ${inSchedule.join(", ")}`]);
    }
    const diffTable = diffRows.length
      ? h(
          "details.cv-diff#compare-diff",
          { open: true },
          h("summary", `What differs between these runs (${diffRows.length} setting${diffRows.length > 1 ? "s" : ""})`),
          h(
            "div.cv-table-scroll",
            h(
              "table.cv-table",
              h("thead", h("tr", h("th", "Setting"), this.runs.map((r) => h("th", h("span.swatch", { style: { background: r.color } }), r.name)))),
              h(
                "tbody",
                diffRows.map(([path, values, tip]) =>
                  h("tr", h("th", { scope: "row", title: tip || null, dataset: { path } }, h("code", path)), values.map((v) => h("td", typeof v === "string" && path === "schedule" ? v : valueText(v)))),
                ),
              ),
            ),
          ),
        )
      : h("p.muted#compare-diff", "These runs have the same settings (apart from their names).");
    const charts = h("div.cv-charts");
    const heat = h("section.card.cv-heat-card");
    const tables = h("div.cv-tables");
    fill(
      this.root,
      h(
        "div.compare-view",
        h(
          "header.page-head.cv-head",
          h("div", h("h2", `Comparing ${this.runs.length} runs`), h("p.muted", "Each colour is one run. Move the slider to see every run at the same point; the heatmaps and numbers below follow it.")),
          h("div.row", h("button.ghost.small", { type: "button", onclick: () => this.copyLink() }, "Copy link"), (this.copied = h("span.muted.small-note"))),
        ),
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
          hasGroups
            ? h(
                "ul.cv-groups#seed-groups",
                this.groups.map((ids) => {
                  const members = ids.map((id) => this.runs.find((r) => r.id === id));
                  return h(
                    "li",
                    h("span.swatch", { style: { background: members[0].color } }),
                    h("b", `Seed group “${members[0].groupName}”`),
                    `: ${members.map((r) => r.name).join(", ")} (seeds ${members.map((r) => r.model.config?.seed).join(", ")}) — drawn as one thick line in ${members[0].name}'s colour, the shade spans their lowest to highest value`,
                  );
                }),
              )
            : null,
        ),
        h("div.scrub-bar.cv-scrub", { role: "group", "aria-label": "Position shown" }, this.endButton, this.slider, this.sliderLabel),
        charts,
        heat,
        tables,
      ),
    );
    this.charts = new CompareCharts(charts, this);
    this.heat = new CompareHeat(heat, this);
    this.tables = new CompareTables(tables, this);
    this.updateSlider = perFrame(() => this.renderSlider());
  }

  copyLink() {
    const url = `${location.origin}${location.pathname}${compareHash(this.ids)}`;
    navigator.clipboard?.writeText(url).then(
      () => (this.copied.textContent = "copied"),
      () => (this.copied.textContent = url),
    );
  }

  // -- x positions ---------------------------------------------------------------------
  /** Seconds since unlearning began at `step` (the step event's time). */
  timeAt(run, step) {
    const steps = run.model.steps;
    if (!steps.length || step <= 0) return 0;
    const t0 = steps[0].t - (steps[0].step_time || 0);
    const i = Math.max(0, Math.min(steps.length - 1, binaryStep(steps, step)));
    return steps[i].t - t0;
  }

  totalOf(run) {
    return Math.max(1, run.model.active ? run.model.plannedTotal() : run.model.lastStep || run.model.plannedTotal());
  }

  xOf(run, step) {
    if (this.xMode === "progress") return (100 * step) / this.totalOf(run);
    if (this.xMode === "time") return this.timeAt(run, step);
    return step;
  }

  xMax() {
    if (this.xMode === "progress") return 100;
    const ends = this.runs.map((r) => this.xOf(r, r.model.lastStep));
    return Math.max(1, ...ends);
  }

  xRange() {
    return [0, this.xMax()];
  }

  /** The step of `run` shown at the slider's position. */
  stepOf(run) {
    const last = run.model.lastStep;
    if (this.sliderX === null) return last;
    if (this.xMode === "progress") return Math.min(last, Math.round((this.sliderX / 100) * this.totalOf(run)));
    if (this.xMode === "time") {
      const steps = run.model.steps;
      const t0 = steps.length ? steps[0].t - (steps[0].step_time || 0) : 0;
      let lo = 0;
      let hi = steps.length - 1;
      let found = 0;
      while (lo <= hi) {
        const mid = (lo + hi) >> 1;
        if (steps[mid].t - t0 <= this.sliderX) {
          found = steps[mid].step;
          lo = mid + 1;
        } else hi = mid - 1;
      }
      return found;
    }
    return Math.min(last, Math.round(this.sliderX));
  }

  positionText() {
    if (this.sliderX === null) return "the latest step of each run";
    if (this.xMode === "progress") return `${this.sliderX.toFixed(1)}% of each run`;
    if (this.xMode === "time") return `${this.sliderX.toFixed(1)} s into each run`;
    return `step ${Math.round(this.sliderX)}`;
  }

  // -- controls ------------------------------------------------------------------------
  seek(x) {
    this.sliderX = x;
    this.charts.setCursor(x);
    this.heat.render();
    this.tables.renderStep();
    this.renderSlider();
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

  renderSlider() {
    const max = this.xMax();
    const fine = this.xMode !== "step";
    this.slider.step = fine ? String(max / 1000) : "1";
    this.slider.max = String(max);
    this.slider.value = String(this.sliderX === null ? max : this.sliderX);
    this.endButton.setAttribute("aria-pressed", String(this.sliderX === null));
    const runs = this.runs.map((r) => this.stepOf(r));
    this.sliderLabel.textContent = `${this.sliderX === null ? "Latest" : positionLabel(this)} · steps shown: ${runs.join(", ")}`;
    this.sliderLabel.dataset.steps = runs.join(",");
  }

  refresh() {
    this.charts.changed();
    this.heat.render();
    this.tables.render();
    this.updateSlider();
  }

  onEvent(run, e) {
    if (e.type === "progress") return;
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
  }
}

function binaryStep(steps, step) {
  let lo = 0;
  let hi = steps.length - 1;
  let found = 0;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (steps[mid].step <= step) {
      found = mid;
      lo = mid + 1;
    } else hi = mid - 1;
  }
  return found;
}

function positionLabel(view) {
  return view.positionText().replace(/^./, (c) => c.toUpperCase());
}

function seedGroupName(info, group) {
  // A sweep's run "sw [schedule=tiny, seed=1]" -> "sw [schedule=tiny]"; other names as they are.
  const first = info.runs.find((r) => r.id === group[0]);
  const name = first?.name || "seed group";
  return name.replace(/(,\s*)?\bseed=\d+(,\s*)?/, (m, a, b) => (a && b ? ", " : "")).replace(/\s*\[\]$/, "");
}

/** "ascent 40 → recovery 100": a schedule in a few words (comparison.schedule_text). */
function scheduleText(schedule) {
  return (schedule || []).map((p) => `${p.kind} ${p.steps}`).join(" → ") || "–";
}

function valueText(v) {
  if (v === null || v === undefined) return "–";
  if (typeof v === "object") return JSON.stringify(v);
  return String(v);
}
