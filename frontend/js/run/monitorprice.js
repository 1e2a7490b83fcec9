// The live monitor's price, one line in the run's header: what monitoring costs training
// now (the governor's estimate, monitor_status events), how dense it is, how far behind
// its exact ASR/CA are, and its budget, editable while the run runs
// (PATCH /api/runs/{id}/monitor). Shown only for runs monitored beside training.

import { api } from "../core/api.js";
import { h, fill } from "../core/dom.js";
import { num } from "../core/format.js";

/** "heatmaps on every step" / "heatmaps on 1 step in 3" / "no heatmaps yet". */
export function densityText(framesPerStep) {
  const f = num(framesPerStep);
  if (!f || f <= 0) return "no heatmaps lately";
  if (f >= 0.95) return "heatmaps on every step";
  return `heatmaps on 1 step in ${Math.round(1 / f)}`;
}

/** The status line of a monitor_status event (null: none yet); `ended`: the run is over
 * (its state, e.g. "completed"), so the line says what monitoring cost at its last report;
 * a completed run owes nothing (the monitor measured every exact ASR/CA before the
 * summary), a stopped or failed one dropped what was still waiting. */
export function priceText(status, budget, ended = null) {
  if (!status) return `Monitoring may cost up to ${budget}% of training; measuring what it costs…`;
  const cost = num(status.slowdown);
  const amount = cost === null ? null : `~${cost < 1 ? cost.toFixed(1) : Math.round(cost)}% of training`;
  if (ended) {
    const said = amount === null ? "Monitoring's cost was not measured yet when the run ended" : `At its last report, monitoring cost ${amount}`;
    const owed = ended === "completed" ? "; every exact ASR/CA was measured before the end" : "";
    return `${said} (budget ${status.budget}%); ${densityText(status.frames_per_step)}${owed}.`;
  }
  const price = amount === null ? "measuring what monitoring costs" : `monitoring costs ${amount}`;
  const parts = [`${price} (budget ${status.budget}%)`, densityText(status.frames_per_step)];
  if (status.behind > 0) {
    const waiting = status.waiting === 1 ? "1 ASR/CA measurement" : `${status.waiting} ASR/CA measurements`;
    parts.push(`behind by ${status.behind} step${status.behind === 1 ? "" : "s"} (${waiting} waiting)`);
  }
  const line = parts.join("; ");
  return line.charAt(0).toUpperCase() + line.slice(1);
}

export class MonitorPrice {
  constructor(root, model) {
    this.model = model;
    this.status = null;
    this.text = h("span.price-text#monitor-price-text", { role: "status" });
    this.input = h("input#monitor-budget", { type: "number", min: "0.1", max: "100", step: "0.5", style: "width: 5.5em; padding: 2px 6px", "aria-label": "Monitoring budget, % of training speed" });
    this.note = h("span.muted.price-note", { role: "alert" });
    this.form = h(
      "form.price-edit",
      { onsubmit: (e) => this.submit(e), title: "The most monitoring may slow training; applied at once", style: "display: inline-flex; align-items: center; gap: 6px; margin: 0" },
      h("label", { for: "monitor-budget", style: "display: inline; margin: 0; font-weight: 400" }, "budget"),
      this.input,
      "%",
      h("button.ghost", { type: "submit", style: "padding: 2px 10px" }, "Set"),
      this.note,
    );
    this.el = h("div.monitor-price.muted#monitor-price", { style: "display: flex; flex-wrap: wrap; align-items: center; gap: 4px 14px; margin-top: 6px" }, this.text, this.form);
    root.append(this.el);
    this.unsubscribe = model.subscribe((e) => {
      if (e.type === "monitor_status") this.status = e;
      if (["monitor_status", "status", "run_row"].includes(e.type)) this.draw();
    });
    this.draw();
  }

  get budget() {
    return this.status?.budget ?? this.model.config?.monitor?.budget ?? 0;
  }

  draw() {
    // beside training, and something to say: a status, or a run still going
    const live = this.budget > 0 && (this.status !== null || this.model.active);
    this.el.style.display = live ? "flex" : "none"; // (inline: `hidden` loses to display)
    if (!live) return;
    fill(this.text, priceText(this.status, this.budget, this.model.active ? null : this.model.status));
    this.form.style.display = this.model.active ? "inline-flex" : "none";
    if (document.activeElement !== this.input) this.input.value = String(this.budget);
  }

  async submit(e) {
    e.preventDefault();
    const budget = Number(this.input.value);
    if (!(budget > 0 && budget <= 100)) {
      fill(this.note, "the budget is a percentage above 0, at most 100");
      return;
    }
    fill(this.note, "sending…");
    try {
      this.status = await api.setMonitorBudget(this.model.id, budget);
      fill(this.note, "");
      this.input.blur();
      this.draw();
    } catch (err) {
      fill(this.note, err.message);
    }
  }

  destroy() {
    this.unsubscribe();
  }
}
