// The live phase schedule editor of a run: past phases read-only, the current and future
// ones editable; Apply sends the whole schedule (PATCH) and says where it took effect or
// why the engine refused it.

import { api } from "../core/api.js";
import { h, fill, perFrame } from "../core/dom.js";
import { splitErrorLines } from "../form/fields.js";
import { earlyStopText } from "../core/format.js";
import { PhaseTable } from "../form/phasetable.js";

const EDITABLE = new Set(["running", "paused"]);

/** The steps a schedule plans, summed (config.schedule_steps). */
function schedulePlanned(schedule) {
  return (schedule || []).reduce((a, p) => a + (Number(p.steps) || 0), 0);
}

export class ScheduleEditor {
  constructor(root, model, schema) {
    this.model = model;
    this.dirty = false;
    this.busy = false;
    this.table = new PhaseTable(schema, { idPrefix: "sched", onChange: () => this.edited() });
    this.apply = h("button.primary.small#schedule-apply", { type: "button", onclick: () => this.send(), disabled: true }, "Apply");
    this.revert = h("button.ghost.small", { type: "button", onclick: () => this.discard(), disabled: true }, "Revert");
    this.note = h("p.muted.schedule-note");
    this.result = h("div.schedule-result", { role: "status", "aria-live": "polite" });
    root.append(
      h("header.card-head", h("h3", "Phase schedule"), h("div.head-actions", this.revert, this.apply)),
      this.note,
      this.table.el,
      this.result,
    );
    this.sync = perFrame(() => this.render());
    this.unsubscribe = model.subscribe((e) => {
      if (["phase_start", "phase_end", "schedule_edit", "status", "run_started", "run_row", "step"].includes(e.type)) {
        this.sync();
      }
    });
    this.lastKey = "";
    this.render();
  }

  destroy() {
    this.unsubscribe();
  }

  layout() {
    const m = this.model;
    const editable = EDITABLE.has(m.status);
    const index = m.phaseIndex;
    const current = m.active && index < m.schedule.length ? { index, done: m.phaseDone } : null;
    // What each finished phase took: "done, 40 steps" or why it ended early.
    const notes = {};
    m.phases.forEach((p) => {
      if (!p || p.end === null) return;
      notes[p.index] = p.reason === "early_stop" ? earlyStopText(p, false).replace(/^Phase \d+ \([^)]*\) s/, "S") : `done, ${p.end - p.start} steps`;
    });
    return { lockedBefore: m.active ? index : m.schedule.length, current, editable, notes };
  }

  render() {
    const m = this.model;
    const layout = this.layout();
    // Rows are rebuilt only when the schedule or the phase changes, never per step, so
    // an input being edited keeps its focus.
    const key = JSON.stringify([m.schedule, layout.lockedBefore, layout.current?.index, layout.editable, layout.notes]);
    if (key !== this.lastKey && !this.dirty) {
      this.lastKey = key;
      this.table.set(m.schedule, layout);
    } else {
      this.lastKey = this.dirty ? this.lastKey : key;
      this.table.progress(layout);
    }
    this.note.textContent = layout.editable
      ? "Change the current or a future phase, add, remove or reorder future phases, then Apply. It takes effect at the next step."
      : m.active
        ? "The schedule can be edited once the run is running (after preparation)."
        : "This run has ended; its schedule is shown as it ran.";
    this.apply.hidden = this.revert.hidden = !layout.editable;
  }

  edited() {
    this.setDirty(true);
    fill(this.result, h("span.muted", "Unsaved changes: Apply to send them to the run."));
  }

  setDirty(dirty) {
    this.dirty = dirty;
    this.apply.disabled = !dirty || this.busy;
    this.revert.disabled = !dirty || this.busy;
  }

  discard() {
    this.setDirty(false);
    this.lastKey = "";
    fill(this.result);
    this.render();
  }

  async send() {
    const { phases, errors } = this.table.read();
    if (errors) {
      this.show("error", `${errors} cell${errors > 1 ? "s need" : " needs"} fixing (marked in red).`);
      return;
    }
    this.busy = true;
    this.apply.disabled = true;
    this.apply.textContent = "Applying…";
    try {
      const out = await api.editSchedule(this.model.id, phases);
      this.dirty = false;
      this.lastKey = "";
      // out.total_steps: the run's total as every view shows it (the API's run.plan.total:
      // phases that ended count the steps they took), so it matches the header's x / total
      this.show("ok", `Applied at step ${out.step}: ${out.schedule.length} phases, ${out.total_steps} steps in total${out.total_steps !== schedulePlanned(out.schedule) ? " (phases that ended count the steps they took)" : ""}.`);
      this.render();
    } catch (err) {
      if (err.status === 422 && err.errors.length) {
        const left = this.table.showErrors(splitErrorLines(err.errors));
        this.show("error", "The server refused some values (marked in red).", left.map((l) => `${l.path}: ${l.message}`));
      } else if (err.status === 409 && err.body.reason) {
        this.show("error", `Refused at step ${err.body.step}: ${err.body.reason}. Your changes are kept; adjust them and Apply again, or Revert.`);
      } else {
        this.show("error", `Not applied: ${err.detail}`);
      }
    } finally {
      this.busy = false;
      this.apply.textContent = "Apply";
      this.setDirty(this.dirty);
    }
  }

  show(kind, text, lines = []) {
    fill(this.result, h(`p.${kind === "ok" ? "ok" : "error"}-text`, text), lines.length ? h("ul", lines.map((l) => h("li", l))) : null);
  }
}
