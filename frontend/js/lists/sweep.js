// A sweep's page, #/sweep/ID: every run of the grid with its state, progress (from the
// live run list, the same numbers as the list) and verdict once it finished (the API's,
// verdict.py), a Stop-all button, and the compare view of its runs below.

import { api } from "../core/api.js";
import { CompareView } from "../compare/view.js";
import { MAX_COMPARE } from "../compare/hash.js";
import { h, fill, perFrame } from "../core/dom.js";
import { statusBadgeClass, statusLabel, stepsText } from "../core/format.js";
import { isLive } from "../core/vocab.js";
import { verdictChip } from "../core/verdict.js";

export class SweepView {
  constructor(root, sweepId, { runList }) {
    this.root = root;
    this.sweepId = sweepId;
    this.runList = runList;
    this.render = perFrame(() => this.draw());
    fill(root, h("p.loading", "Loading the sweep…"));
    this.ready = this.load().catch((err) => {
      fill(root, h("div.notice.error", h("h2", err.status === 404 ? "No such sweep" : "The sweep could not be shown"), h("p", err.detail || err.message)));
    });
  }

  async load() {
    this.sweep = await api.sweep(this.sweepId);
    if (this.closed) return;
    this.sweep.runs.forEach((r) => this.runList.upsert(r));
    this.body = h("tbody");
    this.summary = h("p.muted#sweep-summary");
    this.stopButton = h("button.danger#sweep-stop", { type: "button", onclick: () => this.stop() }, "Stop the sweep");
    this.compareRoot = h("div.sweep-compare");
    const spec = this.sweep.spec;
    fill(
      this.root,
      h(
        "div.sweep-view",
        h(
          "header.page-head",
          h(
            "div",
            h("h2", `Sweep: ${this.sweep.name}`),
            h("p.muted", `${spec.preset ? `preset ${spec.preset}, ` : ""}grid over ${Object.entries(spec.grid).map(([k, v]) => `${k} (${v.length} value${v.length > 1 ? "s" : ""})`).join(" × ")}: ${this.sweep.total} runs. They queue like any run and share the cached backdoored model.`),
            this.summary,
          ),
          h("div.row", this.stopButton),
        ),
        h(
          "section.card.cv-table-card",
          h("div.cv-table-scroll", h("table.cv-table#sweep-runs", h("thead", h("tr", ["Cell", "Run", "State", "Verdict", "Progress"].map((t) => h("th", t === "Verdict" ? { title: "did the defence remove the backdoor, against the run's success criteria" } : {}, t)))), this.body)),
        ),
        this.compareRoot,
      ),
    );
    this.draw();
    if (this.sweep.run_ids.length >= 2) {
      this.compare = new CompareView(this.compareRoot, this.sweep.run_ids.slice(0, MAX_COMPARE), { runList: this.runList });
    }
  }

  draw() {
    if (!this.body) return;
    const cells = this.sweep.cells;
    let ended = 0;
    const rows = this.sweep.run_ids.map((id, i) => {
      const run = this.runList.runs.get(id) || this.sweep.runs.find((r) => r.id === id);
      if (!run) return h("tr", h("td", cells[i]?.label || ""), h("td", id), h("td", "deleted"), h("td", ""), h("td", ""));
      const { step, total, status } = this.runList.progress(run);
      const over = !isLive(status);
      const pct = status === "completed" ? 100 : total ? Math.min(100, (100 * step) / total) : 0;
      if (over) ended += 1;
      const early = status === "completed" && step < total ? " (stopped early: the backdoor was gone)" : "";
      return h(
        "tr",
        { dataset: { run: id, status } },
        h("td", cells[i]?.label || ""),
        h("th", { scope: "row" }, h("a", { href: `#/run/${encodeURIComponent(id)}` }, run.name)),
        h("td", h("span", { class: statusBadgeClass(status) }, statusLabel(status)), run.queue_position ? h("span.muted", ` #${run.queue_position} in queue`) : null),
        h("td.verdict-cell", { dataset: { col: "verdict" } }, verdictChip(run.verdict) || (over ? "–" : h("span.muted", "when it ends"))),
        h("td.sweep-steps", h("span.mini-progress.sweep-progress", h("span", { style: { width: `${pct}%` } })), ` ${stepsText(step, total, !over)}${early}`),
      );
    });
    fill(this.body, rows);
    this.summary.textContent = `${ended} of ${this.sweep.run_ids.length} runs ended${this.sweep.stopped_at ? " · stopped" : ""}.`;
    this.stopButton.disabled = ended === this.sweep.run_ids.length;
  }

  async stop() {
    this.stopButton.disabled = true;
    this.stopButton.textContent = "Stopping…";
    try {
      this.sweep = await api.stopSweep(this.sweepId);
      this.sweep.runs.forEach((r) => this.runList.upsert(r));
    } catch (err) {
      this.summary.textContent = `Could not stop the sweep: ${err.detail}`;
    }
    this.stopButton.textContent = "Stop the sweep";
    this.render();
  }

  runUpdate(run) {
    if (this.sweep?.run_ids.includes(run.id)) this.render();
    this.compare?.runUpdate(run);
  }

  destroy() {
    this.closed = true;
    this.compare?.destroy();
  }
}
