// The runs list in the sidebar, live from the server's run-list channel: status, data
// set, model, attack, phase and step of every run; click to open, delete with a confirm.
// Tick runs to compare them (2 to 12): the bar above the list opens the compare view.
// A finished run shows its verdict (removed, not removed, ...) as the API judged it.

import { api } from "../core/api.js";
import { h, fill, perFrame } from "../core/dom.js";
import { statusLabel, ago, setupText, statusBadgeClass, stepsText } from "../core/format.js";
import { isLive } from "../core/vocab.js";
import { MAX_COMPARE } from "../compare/hash.js";
import { verdictChip } from "../core/verdict.js";


export class RunList {
  constructor(root, { onDeleted }) {
    this.root = root;
    this.onDeleted = onDeleted;
    this.runs = new Map();
    this.live = new Map(); // id -> {step, total, status, phase, at} from an open run's stream
    this.rowAt = new Map(); // id -> when its row last came from the server
    this.activeId = null;
    this.confirming = null;
    this.loaded = false;
    this.state = "connecting";
    this.list = h("ul.run-list#run-list", { "aria-label": "Runs" });
    this.note = h("p.list-note", { role: "status" });
    this.selected = new Set(); // ids ticked for comparison
    this.compareButton = h("button.secondary.small#compare-selected", { type: "button", onclick: () => this.openCompare() }, "Compare");
    this.compareNote = h("span.muted.small-note");
    this.compareBar = h(
      "div.compare-bar#compare-bar",
      this.compareButton,
      h("button.ghost.small", { type: "button", onclick: () => this.clearSelection() }, "Clear"),
      this.compareNote,
    );
    root.append(this.note, this.compareBar, this.list);
    this.render = perFrame(() => this.draw());
    this.draw();
  }

  setState(state) {
    this.state = state;
    this.render();
  }

  setRuns(runs) {
    this.loaded = true;
    this.runs = new Map(runs.map((r) => [r.id, r]));
    const now = performance.now();
    runs.forEach((r) => this.rowAt.set(r.id, now));
    this.render();
  }

  upsert(run) {
    this.runs.set(run.id, run);
    this.rowAt.set(run.id, performance.now());
    this.render();
  }

  remove(id) {
    this.runs.delete(id);
    this.render();
  }

  setActive(id) {
    this.activeId = id;
    this.render();
  }

  /** Step and phase of the open run, from its stream (fresher than the list). */
  patchLive(id, info) {
    this.live.set(id, { ...info, at: performance.now() });
    this.render();
  }

  /**
   * A run's progress as the list and the sweep page show it: {step, total, status, phase}.
   * The total is the API's (run.plan.total, ml/schedule.py run_plan: the server sends the
   * row at once when an edit or a phase's end moves it), never less than the step; the
   * step never goes back; status and phase come from whichever reported last, the row or
   * the open run's stream. A stream left behind when its page closed must not hold the
   * run at "Preparing" while its row is at step 35.
   */
  progress(run) {
    const live = this.live.get(run.id);
    const listed = run.phase_kind ? `phase ${run.phase_index + 1} · ${run.phase_kind}` : "";
    const streamNewer = live && live.at >= (this.rowAt.get(run.id) ?? 0);
    const step = Math.max(run.step, live?.step ?? 0);
    return {
      step,
      total: Math.max(run.plan?.total ?? run.total_steps ?? 0, step),
      status: streamNewer ? live.status || run.status : run.status,
      phase: (streamNewer && live.phase) || listed,
    };
  }

  toggle(id, on) {
    if (on) this.selected.add(id);
    else this.selected.delete(id);
    this.render();
  }

  clearSelection() {
    this.selected.clear();
    this.render();
  }

  openCompare() {
    const ids = [...this.selected].filter((id) => this.runs.has(id));
    if (ids.length < 2 || ids.length > MAX_COMPARE) return;
    location.hash = `#/compare/${ids.map(encodeURIComponent).join(",")}`;
  }

  drawCompareBar() {
    // Count the ticked runs the list holds now; keep the ticks themselves, so a list that
    // is being refreshed (a run briefly missing) does not untick it.
    const n = [...this.selected].filter((id) => this.runs.has(id)).length;
    this.compareBar.hidden = n === 0;
    this.compareButton.textContent = `Compare ${n} run${n === 1 ? "" : "s"}`;
    this.compareButton.disabled = n < 2 || n > MAX_COMPARE;
    this.compareNote.textContent = n < 2 ? "tick one more" : n > MAX_COMPARE ? `at most ${MAX_COMPARE}` : "";
  }

  draw() {
    this.drawCompareBar();
    this.note.textContent =
      this.state === "reconnecting" ? "Run list: reconnecting to the server…" : !this.loaded ? "Loading runs…" : "";
    this.note.className = `list-note${this.state === "reconnecting" ? " warn" : ""}`;
    const runs = [...this.runs.values()].sort((a, b) => (a.created_at < b.created_at ? 1 : -1));
    if (this.loaded && !runs.length) {
      fill(this.list, h("li.empty", "No runs yet. ", h("a", { href: "#/new" }, "Start one"), " — the demo preset needs no download."));
      return;
    }
    fill(this.list, runs.map((r) => this.item(r)));
  }

  item(run) {
    const cfg = run.config || {};
    const now = this.progress(run);
    const { step, status, total } = now;
    const phase = isLive(status) ? now.phase : "";
    const pct = total ? Math.min(100, (100 * step) / total) : 0;
    if (this.confirming === run.id) {
      return h(
        "li.run-item.confirm",
        h("p", `Delete “${run.name}” with its history and files?`),
        h(
          "div.row",
          h("button.danger.small", { type: "button", onclick: () => this.delete(run) }, "Delete"),
          h("button.ghost.small", { type: "button", onclick: () => this.confirm(null) }, "Cancel"),
        ),
      );
    }
    return h(
      `li.run-item${run.id === this.activeId ? ".active" : ""}`,
      { dataset: { id: run.id, status } },
      h("input.compare-tick", {
        type: "checkbox",
        checked: this.selected.has(run.id),
        title: "Tick to compare",
        "aria-label": `Select ${run.name} for comparison`,
        onchange: (e) => this.toggle(run.id, e.target.checked),
      }),
      h(
        "a.run-link",
        { href: `#/run/${encodeURIComponent(run.id)}`, "aria-current": run.id === this.activeId ? "page" : null },
        h("span.run-line", h("span.run-title", run.name), h("span", { class: statusBadgeClass(status) }, statusLabel(status))),
        // did the defence remove the backdoor (the API's verdict, once the run finished)
        run.verdict ? h("span.run-verdict", verdictChip(run.verdict)) : null,
        h("span.run-meta", setupText(cfg)),
        h("span.run-meta.run-steps", `${isLive(status) || !step ? `step ${stepsText(step, total, true)}` : stepsText(step, total, false)}${phase ? ` · ${phase}` : ""} · ${ago(run.created_at)}`),
        isLive(status) ? h("span.mini-progress", h("span", { style: { width: `${pct}%` } })) : null,
      ),
      h("button.icon.delete", { type: "button", title: `Delete run ${run.name}`, "aria-label": `Delete run ${run.name}`, onclick: () => this.confirm(run.id) }, trashIcon()),
    );
  }

  confirm(id) {
    this.confirming = id;
    this.render();
  }

  async delete(run) {
    this.confirming = null;
    try {
      await api.deleteRun(run.id);
      this.remove(run.id);
      this.onDeleted(run.id);
    } catch (err) {
      this.note.textContent = `Could not delete ${run.name}: ${err.detail}`;
      this.note.className = "list-note error-text";
    }
  }
}

function trashIcon() {
  const svg = document.createElementNS("http://www.w3.org/2000/svg", "svg");
  svg.setAttribute("viewBox", "0 0 16 16");
  svg.setAttribute("width", "14");
  svg.setAttribute("height", "14");
  svg.setAttribute("aria-hidden", "true");
  const path = document.createElementNS("http://www.w3.org/2000/svg", "path");
  path.setAttribute("d", "M6 2h4l.5 1H14v1.5H2V3h3.5zM3.5 5.5h9l-.7 8.5H4.2z");
  path.setAttribute("fill", "currentColor");
  svg.append(path);
  return svg;
}
