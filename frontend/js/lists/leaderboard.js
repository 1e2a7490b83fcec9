// The leaderboard, #/leaderboard[?model=KEY]: for one backdoored model (runs that share
// its cache key unlearned the very same model), the defences ranked by DER (by DER after
// re-tuning when runs measured it), then ASR after, then CA after; sortable; links to each run and to the compare view of the best ones; the
// same as CSV. Each run's verdict (the API's, verdict.py) beside it: a run that misses its
// success criteria is flagged, however high its DER. Below, the sweeps.

import { api } from "../core/api.js";
import { MAX_COMPARE, compareHash } from "../compare/hash.js";
import { h, fill } from "../core/dom.js";
import { ago, duration, fixed, percent, planText, statusBadgeClass, statusLabel, stepsText } from "../core/format.js";
import { isLive } from "../core/vocab.js";
import { missesBar, verdictChip } from "../core/verdict.js";

// The leaderboard's columns (the API's numbers, scores.py); click a head to sort. The
// post-purification ones (Min et al., NeurIPS 2024) appear when a run measured them, and the
// board is then ranked by DER after re-tuning (the API's `ranked_by`).
const arrow = (a, b) => [h("span.pair", percent(a)), " → ", h("span.pair", percent(b))];
const COLUMNS = [
  { key: "der", title: "DER", tip: "defence effectiveness rating, 0-1; higher is better", show: (e) => fixed(e.der, 3) },
  { key: "der_retuned", optional: true, title: "DER after re-tuning", tip: "DER with the ASR after the retuning attack; higher is better", show: (e) => fixed(e.der_retuned, 3) },
  { key: "asr_after", title: "ASR before → after", tip: "attack success rate, full test set; lower is better", show: (e) => arrow(e.asr_before, e.asr_after) },
  { key: "asr_retuned", optional: true, title: "ASR after re-tuning", tip: "after the closing relearn phase: does the backdoor come back?", show: (e) => percent(e.asr_retuned) },
  { key: "asr_qra", optional: true, title: "ASR after QRA", tip: "with the reactivation attack's perturbation (weights unchanged)", show: (e) => percent(e.asr_qra) },
  { key: "ca_after", title: "CA before → after", tip: "clean accuracy, full test set; higher is better", show: (e) => arrow(e.ca_before, e.ca_after) },
  { key: "ra_after", title: "RA", tip: "robust accuracy", show: (e) => percent(e.ra_after) },
  { key: "steps_to_asr10", title: "Steps to ASR < 10%", tip: "first measured step with ASR below 10%", show: (e) => (e.steps_to_asr10 === null ? "never" : String(e.steps_to_asr10)) },
  { key: "steps", title: "Steps", tip: "unlearning steps taken, of the run's total (phases that ended count the steps they took; a live edit moves it)", show: (e) => (e.plan ? stepsText(e.steps, e.plan.total, isLive(e.status)) : String(e.steps)) },
  { key: "wall_time", title: "Wall time", tip: "preparation included", show: (e) => duration(e.wall_time) },
];

/** The columns this board shows: the optional ones only when some entry has them. */
export function boardColumns(entries) {
  return COLUMNS.filter((c) => !c.optional || entries.some((e) => e[c.key] !== undefined && e[c.key] !== null));
}

/** Entries sorted by `sort` ({key, dir}); a missing number sorts last. */
export function sortEntries(entries, sort) {
  return [...entries].sort((a, b) => {
    const x = a[sort.key];
    const y = b[sort.key];
    if (x === null || x === undefined) return y === null || y === undefined ? a.rank - b.rank : 1;
    if (y === null || y === undefined) return -1;
    return sort.dir * (x - y) || a.rank - b.rank;
  });
}

export class LeaderboardView {
  constructor(root, { model } = {}) {
    this.root = root;
    this.selected = model || null;
    this.chosen = new Set();
    fill(root, h("p.loading", "Loading the leaderboard…"));
    this.ready = this.load().catch((err) => fill(root, h("div.notice.error", h("h2", "The leaderboard could not be loaded"), h("p", err.detail || err.message))));
  }

  async load() {
    const [{ models }, sweeps] = await Promise.all([api.leaderboard(null), api.sweeps()]);
    if (this.closed) return;
    this.models = models;
    this.selected ??= models[0]?.model_key || null;
    this.board = this.selected ? await api.leaderboard(this.selected) : null;
    if (this.closed) return;
    this.draw(sweeps);
  }

  draw(sweeps) {
    const select = h(
      "select#leaderboard-model",
      { onchange: (e) => (location.hash = `#/leaderboard?model=${encodeURIComponent(e.target.value)}`) },
      this.models.map((m) => h("option", { value: m.model_key, selected: m.model_key === this.selected }, `${m.label} — ${m.runs} run${m.runs > 1 ? "s" : ""}`)),
    );
    fill(
      this.root,
      h(
        "div.leaderboard-view",
        h(
          "header.page-head",
          h(
            "div",
            h("h2", "Leaderboard: which defence removed the backdoor best?"),
            h("p.muted", "Runs that unlearned the same backdoored model (same data, model, attack, training and seed), ranked by DER — the defence effectiveness rating, 0 to 1: (drop in attack success − drop in clean accuracy + 1) / 2. Ties go to the lower ASR, then the higher clean accuracy."),
            this.board?.ranked_by === "der_retuned"
              ? h("p.muted", "Some runs were attacked after the defence, so the board is ranked by DER after re-tuning: the same rating with the attack success rate the retuning attack brought back. A backdoor that is only hidden ranks low.")
              : null,
          ),
        ),
        this.models.length
          ? h("label.preset-pick", { for: "leaderboard-model" }, "Backdoored model ", select)
          : h("p.notice", "No run has prepared a backdoored model yet. ", h("a", { href: "#/new" }, "Start a run"), " or a sweep."),
        this.board ? this.table(this.board) : null,
        this.sweepList(sweeps),
      ),
    );
  }

  table(board) {
    const cols = boardColumns(board.entries);
    if (!this.sort || !cols.some((c) => c.key === this.sort.key)) this.sort = { key: board.ranked_by || "der", dir: -1 };
    const entries = sortEntries(board.entries, this.sort);
    const compareButton = h("button.secondary#compare-chosen", { type: "button", onclick: () => this.compareChosen() }, "Compare ticked runs");
    this.compareButton = compareButton;
    this.drawCompareButton();
    const missing = board.entries.filter((e) => missesBar(e.verdict));
    const top = board.compare_top;
    return h(
      "section.card.cv-table-card",
      h(
        "header.card-head",
        h("h3", board.label),
        h(
          "div.row",
          top ? h("a.button.primary#compare-top", { href: top }, `Compare the top ${Math.min(3, entries.length)}`) : null,
          compareButton,
          h("a.button.ghost", { href: `/api/leaderboard?model_key=${encodeURIComponent(board.model_key)}&format=csv`, download: "" }, "CSV"),
        ),
      ),
      missing.length
        ? h(
            "p.verdict-line.verdict-bad#leaderboard-misses",
            h("span.verdict-icon", { "aria-hidden": "true" }, "✗"),
            ` ${missing.length} of ${board.entries.length} run${board.entries.length > 1 ? "s" : ""} miss${missing.length === 1 ? "es" : ""} the bar (the Verdict column says why): a high DER alone does not mean the backdoor is gone.`,
          )
        : null,
      h(
        "div.cv-table-scroll",
        h(
          "table.cv-table#leaderboard",
          h(
            "thead",
            h(
              "tr",
              ["", "#", "Run", "Verdict", "What differs"].map((t) => h("th", t === "Verdict" ? { title: "did the defence remove the backdoor, against the run's success criteria" } : {}, t)),
              cols.map((c) =>
                h(
                  "th",
                  { title: c.tip, "aria-sort": c.key === this.sort.key ? (this.sort.dir > 0 ? "ascending" : "descending") : null },
                  h("button.link.sort", { type: "button", onclick: () => this.sortBy(c.key, board) }, c.title, c.key === this.sort.key ? (this.sort.dir > 0 ? " ▲" : " ▼") : ""),
                ),
              ),
            ),
          ),
          h(
            "tbody",
            entries.map((e) =>
              h(
                `tr${missesBar(e.verdict) ? ".misses-bar" : ""}`,
                { dataset: { run: e.run_id } },
                h("td", h("input", { type: "checkbox", checked: this.chosen.has(e.run_id), "aria-label": `Tick ${e.name} to compare`, onchange: (ev) => this.tick(e.run_id, ev.target.checked) })),
                h("td", String(e.rank)),
                h("th", { scope: "row" }, h("a", { href: e.url }, e.name), " ", h("span", { class: statusBadgeClass(e.status) }, statusLabel(e.status))),
                h("td.verdict-cell", verdictChip(e.verdict) || "–"),
                h("td.muted", { title: e.plan ? `schedule: ${planText(e.plan)}` : null }, e.differs, e.plan?.edited ? h("span.edited-note", " · schedule edited live") : null),
                cols.map((c) => h(c.key === this.sort.key ? "td.num.sorted" : "td", c.key === this.sort.key ? h("b", c.show(e)) : c.show(e))),
              ),
            ),
          ),
        ),
      ),
    );
  }

  sortBy(key, board) {
    const higherFirst = key.startsWith("der") || key.startsWith("ca");
    this.sort = { key, dir: this.sort.key === key ? -this.sort.dir : higherFirst ? -1 : 1 };
    const card = this.root.querySelector(".cv-table-card");
    if (card) card.replaceWith(this.table(board));
  }

  tick(id, on) {
    if (on) this.chosen.add(id);
    else this.chosen.delete(id);
    this.drawCompareButton();
  }

  /** "Compare ticked runs" works with 2 to 12 ticked, and says so until then. */
  drawCompareButton() {
    const n = this.chosen.size;
    const ok = n >= 2 && n <= MAX_COMPARE;
    this.compareButton.disabled = !ok;
    this.compareButton.textContent = ok ? `Compare ${n} ticked runs` : "Compare ticked runs";
    this.compareButton.title = ok ? "" : n > MAX_COMPARE ? `Tick at most ${MAX_COMPARE} runs` : "Tick 2 to 12 runs to compare them";
  }

  compareChosen() {
    const ids = [...this.chosen];
    if (ids.length < 2 || ids.length > MAX_COMPARE) return;
    location.hash = compareHash(ids);
  }

  sweepList(sweeps) {
    return h(
      "section.card.cv-table-card#sweep-list",
      h("header.card-head", h("h3", "Sweeps"), h("a.button.ghost.small", { href: "#/new" }, "New sweep (on the new-run page)")),
      sweeps.length
        ? h(
            "ul.sweep-list",
            sweeps.map((s) => h("li", h("a", { href: `#/sweep/${encodeURIComponent(s.id)}` }, s.name), h("span.muted", ` · ${s.done}/${s.total} runs ended · ${ago(s.created_at)}`))),
          )
        : h("p.muted", "No sweeps yet."),
    );
  }

  destroy() {
    this.closed = true;
  }
}
