// The compare view's numbers: per run the headline (before -> after ASR and CA, RA, TAR,
// retention, DER, steps, wall time, steps until ASR < 10%), and the same at the slider's
// step; click a column head to sort. Every number is the API's (scores.py, through
// GET /api/compare): the page computes none of them, nor the verdict (verdict.py) the
// headline table shows beside each run.

import { h, fill, perFrame } from "../core/dom.js";
import { duration, fixed, percent, stepsText } from "../core/format.js";
import { lastAtOrBefore } from "../core/search.js";
import { verdictChip } from "../core/verdict.js";

/** A run's headline numbers, as the API computed them (GET /api/compare, scores.py), in
 * the table's fields. */
export function headlineOf(api) {
  if (!api) return {};
  return { ...api, wall: api.wall_time, gone: api.steps_to_asr10 };
}

/** A headline row with the run's steps of its total, as the run page and the run list
 * show them (model.plannedTotal(): the API's plan.total, kept by the run's stream). */
export function withTotal(row, model) {
  if (!model) return row;
  return { ...row, steps: Math.max(row.steps ?? 0, model.step || 0), total: model.plannedTotal(), active: model.active };
}

/** The API's scores (in step order) at `step`: the last entry at or before it, else empty. */
export function atStepOf(scores, step) {
  const i = lastAtOrBefore(scores || [], step, (s) => s.step);
  return i < 0 ? { step } : { ...scores[i], step };
}

const arrow = (a, b, f) => (a === null && b === null ? "–" : `${f(a)} → ${f(b)}`);
const HEAD_COLS = [
  { key: "asr_after", title: "ASR before → after", tip: "attack success rate on the full test set; lower is better", show: (r) => arrow(r.asr_before, r.asr_after, percent) },
  { key: "ca_after", title: "CA before → after", tip: "clean accuracy on the full test set; higher is better", show: (r) => arrow(r.ca_before, r.ca_after, percent) },
  { key: "ra_after", title: "RA", tip: "robust accuracy: triggered images classified as their true class (when measured)", show: (r) => percent(r.ra_after) },
  { key: "tar_after", title: "TAR after", tip: "median Trigger Attention Ratio at the end; 1 = no preference for the trigger", show: (r) => fixed(r.tar_after) },
  { key: "retention", title: "CA kept", tip: "clean accuracy after / before", show: (r) => percent(r.retention, 1) },
  { key: "der", title: "DER", tip: "defence effectiveness rating, 0-1: (ASR drop − CA drop + 1) / 2; higher is better", show: (r) => fixed(r.der, 3) },
  // Post-purification robustness (Min et al., NeurIPS 2024): shown when a run has them.
  { key: "asr_retuned", optional: true, title: "ASR after re-tuning", tip: "after the closing relearn phase (the retuning attack): does the backdoor come back? Lower is better", show: (r) => percent(r.asr_retuned) },
  { key: "asr_qra", optional: true, title: "ASR after QRA", tip: "with the reactivation attack's perturbation added to triggered images (the weights unchanged); lower is better", show: (r) => percent(r.asr_qra) },
  { key: "der_retuned", optional: true, title: "DER after re-tuning", tip: "DER with the ASR after re-tuning in place of the purified model's; higher is better", show: (r) => fixed(r.der_retuned, 3) },
  { key: "steps", title: "Steps", tip: "unlearning steps taken, of the run's total (phases that ended count the steps they took; a live edit moves it)", show: (r) => (r.total ? stepsText(r.steps, r.total, r.active) : String(r.steps)) },
  { key: "wall", title: "Wall time", tip: "preparation included", show: (r) => duration(r.wall) },
  { key: "gone", title: "Steps to ASR < 10%", tip: "first measured step with ASR below 10%", show: (r) => (r.gone === null ? "never" : String(r.gone)) },
];
const STEP_COLS = [
  { key: "step", title: "Step shown", show: (r) => String(r.step) },
  { key: "asr", title: "ASR", show: (r) => percent(r.asr) },
  { key: "ca", title: "CA", show: (r) => percent(r.ca) },
  { key: "ra", title: "RA", show: (r) => percent(r.ra) },
  { key: "tar", title: "TAR", show: (r) => fixed(r.tar) },
  { key: "retention", title: "CA kept", show: (r) => percent(r.retention, 1) },
  { key: "der", title: "DER so far", show: (r) => fixed(r.der, 3) },
];

class SortableTable {
  constructor(id, cols, defaultSort, { verdict = false } = {}) {
    this.cols = cols;
    this.verdict = verdict; // a Verdict column (the rows' `verdict`, from the API)
    this.sort = defaultSort; // {key, dir}
    this.el = h(`table.cv-table#${id}`);
  }

  draw(runs, rowsOf) {
    const rows = runs.map((run) => ({ run, v: rowsOf(run) }));
    const { key, dir } = this.sort;
    rows.sort((a, b) => {
      const x = a.v[key];
      const y = b.v[key];
      if (x === null || x === undefined) return 1;
      if (y === null || y === undefined) return -1;
      return dir * (x - y);
    });
    const cols = this.cols.filter((c) => !c.optional || rows.some((r) => r.v[c.key] !== undefined && r.v[c.key] !== null));
    fill(
      this.el,
      h(
        "thead",
        h(
          "tr",
          h("th", "Run"),
          this.verdict ? h("th", { title: "did the defence remove the backdoor, against the run's success criteria" }, "Verdict") : null,
          cols.map((c) =>
            h(
              "th",
              { title: c.tip || "", "aria-sort": c.key === key ? (dir > 0 ? "ascending" : "descending") : null },
              h("button.link.sort", { type: "button", onclick: () => this.setSort(c.key) }, c.title, c.key === key ? (dir > 0 ? " ▲" : " ▼") : ""),
            ),
          ),
        ),
      ),
      h(
        "tbody",
        rows.map(({ run, v }) =>
          h(
            "tr",
            { dataset: { run: run.id } },
            h("th", { scope: "row" }, h("span.swatch", { style: { background: run.color } }), h("a", { href: `#/run/${encodeURIComponent(run.id)}` }, run.name)),
            this.verdict ? h("td", { dataset: { col: "verdict" } }, verdictChip(v.verdict) || "–") : null,
            cols.map((c) => h("td", { dataset: { col: c.key } }, c.show(v))),
          ),
        ),
      ),
    );
  }

  setSort(key) {
    this.userSorted = true;
    const higherFirst = key.startsWith("der") || key.startsWith("ca") || key === "retention";
    this.sort = { key, dir: this.sort.key === key ? -this.sort.dir : higherFirst ? -1 : 1 };
    this.onSort?.();
  }
}

export class CompareTables {
  constructor(root, view) {
    this.view = view;
    this.head = new SortableTable("compare-headline", HEAD_COLS, { key: "der", dir: -1 }, { verdict: true });
    this.at = new SortableTable("compare-at-step", STEP_COLS, { key: "der", dir: -1 });
    this.stepTitle = h("h3");
    this.render = perFrame(() => this.draw());
    this.renderStep = perFrame(() => this.drawStep()); // the slider moved: the at-step table only
    this.head.onSort = this.render;
    this.at.onSort = this.renderStep;
    root.append(
      h("section.card.cv-table-card", h("header.card-head", h("h3", "Headline numbers (full test set)"), h("span.muted.small-note", "Click a column to sort. Live runs show their newest evaluation (the numbers follow within a few seconds).")), h("div.cv-table-scroll", this.head.el)),
      h("section.card.cv-table-card", h("header.card-head", this.stepTitle, h("span.muted.small-note", "The newest measurement at or before each run's step (monitor subset or full test set).")), h("div.cv-table-scroll", this.at.el)),
    );
  }

  draw() {
    // post-purification robustness first when measured: DER after re-tuning
    const post = this.view.runs.some((r) => (this.view.info.headline[r.id] || {}).der_retuned != null);
    if (post && !this.head.userSorted) this.head.sort = { key: "der_retuned", dir: -1 };
    this.head.draw(this.view.runs, (r) => withTotal(headlineOf(this.view.info.headline[r.id]), r.model));
    this.drawStep();
  }

  drawStep() {
    this.stepTitle.textContent = `At the slider: ${this.view.positionText()}`;
    this.at.draw(this.view.runs, (r) => atStepOf(this.view.info.scores[r.id], this.view.stepOf(r)));
  }
}
