// The leaderboard, #/leaderboard[?model=KEY]: for one backdoored model (runs that share
// its cache key unlearned the very same model), the defences ranked by DER, then ASR
// after, then CA after; links to each run and to the compare view of the best ones; the
// same as CSV. Below, the sweeps.

import { api } from "../core/api.js";
import { MAX_COMPARE, compareHash } from "../compare/hash.js";
import { h, fill } from "../core/dom.js";
import { ago, duration, fixed, percent, statusBadgeClass, statusLabel } from "../core/format.js";

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
    const entries = board.entries;
    const compareButton = h("a.button.secondary#compare-chosen", { href: "#", onclick: (e) => this.compareChosen(e) }, "Compare ticked runs");
    this.compareButton = compareButton;
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
      h(
        "div.cv-table-scroll",
        h(
          "table.cv-table#leaderboard",
          h(
            "thead",
            h(
              "tr",
              ["", "#", "Run", "What differs", "DER", "ASR before → after", "CA before → after", "RA", "Steps to ASR < 10%", "Steps", "Wall time"].map((t) => h("th", t)),
            ),
          ),
          h(
            "tbody",
            entries.map((e) =>
              h(
                "tr",
                { dataset: { run: e.run_id } },
                h("td", h("input", { type: "checkbox", "aria-label": `Tick ${e.name} to compare`, onchange: (ev) => this.tick(e.run_id, ev.target.checked) })),
                h("td", String(e.rank)),
                h("th", { scope: "row" }, h("a", { href: e.url }, e.name), " ", h("span", { class: statusBadgeClass(e.status) }, statusLabel(e.status))),
                h("td.muted", e.differs),
                h("td.num", h("b", fixed(e.der, 3))),
                h("td", `${percent(e.asr_before)} → ${percent(e.asr_after)}`),
                h("td", `${percent(e.ca_before)} → ${percent(e.ca_after)}`),
                h("td", percent(e.ra_after)),
                h("td", e.steps_to_asr10 === null ? "never" : String(e.steps_to_asr10)),
                h("td", String(e.steps)),
                h("td", duration(e.wall_time)),
              ),
            ),
          ),
        ),
      ),
    );
  }

  tick(id, on) {
    if (on) this.chosen.add(id);
    else this.chosen.delete(id);
  }

  compareChosen(e) {
    e.preventDefault();
    const ids = [...this.chosen];
    if (ids.length < 2) {
      this.compareButton.textContent = "Tick 2 to 12 runs first";
      return;
    }
    location.hash = compareHash(ids.slice(0, MAX_COMPARE));
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
