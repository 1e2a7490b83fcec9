// The table of a phase schedule: one row per phase, one column per PhaseConfig field.
// Rows before `lockedBefore` are read-only (phases already over); the current phase keeps
// its kind and cannot shrink below the steps it ran; later phases can be edited, added,
// removed and reordered. Used by the new-run form and by the live schedule editor.
// A kind with its own settings (NAD's beta, I-BAU's inner steps, ...: the kind's
// settings_schema in /api/options) gets a second row of fields under its phase; choosing a
// kind fills in its published defaults (the kind's `defaults` and its settings' defaults).

import { h, fill } from "../core/dom.js";
import { createInput, describe, infoOf, labelOf, readInput, resolve, writeInput } from "./fields.js";
import { short } from "../core/format.js";
import { phaseKind, phaseKinds } from "../core/vocab.js";

// An added phase: the first registered kind that trains and needs no forget set (recovery),
// else the first.
const newPhase = () => {
  const kinds = phaseKinds();
  const kind = (kinds.find((k) => !k.uses_forget_set && !k.finds_forget_set) || kinds[0])?.kind;
  return { kind, steps: 20, lr: 0.01, settings: settingsDefaults(kind) };
};

/** The fields of a kind's own settings: [{key, prop, desc, info}] ([] for none). */
export function settingsFields(kind) {
  const schema = phaseKind(kind)?.settings_schema;
  if (!schema) return [];
  return Object.entries(schema.properties || {}).map(([key, prop]) => {
    const node = resolve(schema, prop);
    return { key, prop: node, desc: describe(node), info: infoOf(node) };
  });
}

/** The defaults of a kind's own settings ({} for a kind without). */
export function settingsDefaults(kind) {
  return Object.fromEntries(settingsFields(kind).map((f) => [f.key, f.prop.default ?? null]));
}

export class PhaseTable {
  constructor(schema, { onChange = () => {}, idPrefix = "phase", showState = true } = {}) {
    const def = resolve(schema, schema.properties.schedule.items);
    // `settings` is no column: each kind's own fields go in a row under its phase.
    this.props = Object.entries(def.properties).filter(([key]) => key !== "settings").map(([key, prop]) => ({
      key,
      prop,
      desc: describe(prop),
      info: infoOf(prop),
    }));
    this.defaults = Object.fromEntries(
      this.props.filter((p) => p.prop.default !== undefined).map((p) => [p.key, p.prop.default]),
    );
    this.onChange = onChange;
    this.idPrefix = idPrefix;
    this.showState = showState;
    this.phases = [];
    this.lockedBefore = 0;
    this.current = null; // {index, done}
    this.rows = [];
    this.body = h("tbody");
    this.addButton = h(
      "button.ghost.small",
      { type: "button", onclick: () => this.add() },
      "+ Add phase",
    );
    this.el = h(
      "div.phase-table-wrap",
      h(
        "table.phase-table",
        h(
          "thead",
          h(
            "tr",
            h("th", { scope: "col" }, "#"),
            showState ? h("th", { scope: "col" }, "State") : null,
            this.props.map((p) =>
              h("th", { scope: "col", title: p.info.hint || "" }, labelOf(p.prop, p.key), p.info.unit ? h("span.unit", ` ${p.info.unit}`) : null),
            ),
            h("th", { scope: "col" }, h("span.sr-only", "Actions")),
          ),
        ),
        this.body,
      ),
      h("div.table-foot", this.addButton),
    );
  }

  /** The label of a phase field (its schema title). */
  labelOf(key) {
    return labelOf(this.props.find((p) => p.key === key)?.prop, key);
  }

  /** Show `phases`; `lockedBefore` rows read-only; `current` = {index, done} or null. */
  set(phases, { lockedBefore = 0, current = null, editable = true, notes = {} } = {}) {
    this.notes = notes;
    this.kindNotes = {};
    this.phases = phases.map((p) => ({ ...p }));
    this.lockedBefore = lockedBefore;
    this.current = current;
    this.editable = editable;
    this.render();
  }

  /**
   * New progress without touching edits: within the same phase only the state labels
   * change (inputs keep focus); a new phase or state locks rows and redraws them.
   */
  progress({ lockedBefore, current, editable, notes = {} }) {
    this.notes = notes;
    const same =
      lockedBefore === this.lockedBefore &&
      editable === this.editable &&
      (current?.index ?? -1) === (this.current?.index ?? -1);
    this.current = current;
    if (same) {
      this.rows.forEach((row, i) => row.state && (row.state.textContent = this.stateOf(i).text));
      return;
    }
    this.pullInputs();
    this.lockedBefore = lockedBefore;
    this.editable = editable;
    this.render();
  }

  isFuture(i) {
    return this.editable && i >= this.lockedBefore && !(this.current && i === this.current.index);
  }

  stateOf(i) {
    if (this.current && i === this.current.index) return { text: `running ${this.current.done}/${this.phases[i].steps}`, cls: "current" };
    if (i < this.lockedBefore) return { text: this.notes?.[i] || "done", cls: "past" };
    return { text: this.current || this.lockedBefore ? "planned" : "", cls: "future" };
  }

  render() {
    this.rows = this.phases.map((phase, i) => this.row(phase, i));
    fill(this.body, this.rows.map((r, i) => [r.tr, r.settingsTr, this.kindNoteRow(i)]));
    this.addButton.hidden = !this.editable;
    this.el.classList.toggle("editable", Boolean(this.editable));
  }

  row(phase, i) {
    const state = this.stateOf(i);
    const locked = !this.editable || i < this.lockedBefore;
    const inputs = {};
    const cells = this.props.map(({ key, desc }) => {
      if (locked) return h("td.ro", { dataset: { key } }, display(phase[key], desc));
      const id = `${this.idPrefix}-${i}-${key}`;
      const input = createInput(desc, { id, path: `schedule.${i}.${key}`, compact: true });
      writeInput(input, desc, phase[key]);
      input.setAttribute("aria-label", `Phase ${i + 1} ${this.labelOf(key)}`);
      if (key === "kind") {
        for (const option of input.options) {
          const k = phaseKind(option.value);
          if (k) option.title = `${k.label}: ${k.description}`;
        }
      }
      if (key === "kind" && this.current && i === this.current.index && this.current.done > 0) {
        input.disabled = true;
        input.title = "a running phase keeps its kind; end it (steps = steps run) and add a phase";
      }
      const error = h("div.field-error", { id: `${id}-error`, role: "alert" });
      input.setAttribute("aria-describedby", `${id}-error`);
      input.addEventListener("input", () => this.changed(i, key));
      input.addEventListener("change", () => this.changed(i, key));
      inputs[key] = { input, error, desc };
      return h("td", { dataset: { key } }, input, error);
    });
    const future = this.isFuture(i);
    const firstMovable = Math.max(this.lockedBefore, this.current ? this.current.index + 1 : 0);
    const actions = h(
      "td.actions",
      future && i > firstMovable ? iconButton("↑", `Move phase ${i + 1} up`, () => this.move(i, -1)) : null,
      future && i < this.phases.length - 1 ? iconButton("↓", `Move phase ${i + 1} down`, () => this.move(i, 1)) : null,
      future && this.phases.length > 1 ? iconButton("✕", `Remove phase ${i + 1}`, () => this.remove(i)) : null,
    );
    const stateCell = this.showState ? h("td.state", state.text) : null;
    const tr = h(
      `tr.${state.cls}`,
      { dataset: { phase: String(i) } },
      h("th", { scope: "row" }, String(i + 1)),
      stateCell,
      cells,
      actions,
    );
    const { settingsTr, settingsInputs } = this.settingsRow(phase, i, locked, state.cls);
    return { tr, inputs, settingsTr, settingsInputs, state: stateCell };
  }

  /** The row of a phase's kind settings (null for a kind without): labelled fields. */
  settingsRow(phase, i, locked, cls) {
    const fields = settingsFields(phase.kind);
    const settingsInputs = {};
    if (!fields.length) return { settingsTr: null, settingsInputs };
    const values = phase.settings || {};
    const kind = phaseKind(phase.kind);
    const items = fields.map(({ key, prop, desc, info }) => {
      const label = labelOf(prop, key);
      const unit = info.unit ? ` [${info.unit}]` : "";
      if (locked) {
        return h("span.kind-setting.ro", { title: info.hint || "" }, h("span.ks-label", `${label}${unit}`), h("b", display(values[key], desc)));
      }
      const id = `${this.idPrefix}-${i}-settings-${key}`;
      const input = createInput(desc, { id, path: `schedule.${i}.settings.${key}`, compact: true });
      writeInput(input, desc, values[key] ?? desc.default);
      const error = h("div.field-error", { id: `${id}-error`, role: "alert" });
      input.setAttribute("aria-describedby", `${id}-error ${id}-hint`);
      input.addEventListener("input", () => this.settingChanged(i, key));
      input.addEventListener("change", () => this.settingChanged(i, key));
      settingsInputs[key] = { input, error, desc };
      return h(
        "label.kind-setting",
        { for: id, title: info.hint || "" },
        h("span.ks-label", label, unit ? h("span.unit", unit) : null),
        input,
        h("span.ks-hint", { id: `${id}-hint` }, info.hint || ""),
        error,
      );
    });
    const cols = 2 + this.props.length + (this.showState ? 1 : 0);
    const settingsTr = h(
      `tr.settings-row.${cls}`,
      { dataset: { settingsOf: String(i) } },
      h(
        "td",
        { colSpan: cols },
        h(
          "div.kind-settings",
          { role: "group", "aria-label": `Phase ${i + 1}: ${kind?.label || phase.kind} settings` },
          h("span.ks-title", `${kind?.label || phase.kind}`, h("span.muted", " · its own settings")),
          items,
        ),
      ),
    );
    return { settingsTr, settingsInputs };
  }

  changed(i, key) {
    const cell = this.rows[i]?.inputs[key];
    if (!cell) return;
    const result = this.check(i, key, cell);
    this.phases[i][key] = "value" in result ? result.value : cell.input.value;
    if (key === "kind" && "value" in result) this.kindChosen(i, result.value);
    this.onChange();
  }

  /**
   * A new kind for phase i: its published defaults and its own settings' defaults, but
   * the steps the user gave stay; a note under the row says what the kind's recipe set
   * and, where its steps differ, offers them (never a silent 100 -> 1000).
   */
  kindChosen(i, kind) {
    this.pullInputs();
    const before = this.phases[i];
    const defaults = { ...(phaseKind(kind)?.defaults || {}) };
    const recipeSteps = defaults.steps;
    delete defaults.steps;
    const set = Object.entries(defaults)
      .filter(([k, v]) => JSON.stringify(before[k] ?? null) !== JSON.stringify(v ?? null))
      .map(([k, v]) => `${this.labelOf(k)} ${v ?? "off"}`);
    this.phases[i] = { ...before, ...defaults, kind, settings: settingsDefaults(kind) };
    const running = this.current && i === this.current.index;
    const offer = !running && recipeSteps !== undefined && Number(recipeSteps) !== Number(before.steps) ? recipeSteps : null;
    const label = phaseKind(kind)?.label || kind;
    const parts = [];
    if (set.length) parts.push(`${label}'s recipe set ${set.join(", ")}.`);
    if (offer !== null) parts.push(`Steps kept at ${before.steps}; its recipe takes ${offer}.`);
    this.kindNotes = { ...this.kindNotes, [i]: parts.length ? { text: parts.join(" "), steps: offer } : null };
    this.render();
    this.rows[i]?.inputs.kind?.input.focus();
  }

  /** The note under phase i after its kind changed (null when none). */
  kindNoteRow(i) {
    const note = this.kindNotes?.[i];
    if (!note) return null;
    const use = note.steps !== null
      ? h(`button.link.small#${this.idPrefix}-${i}-use-steps`, { type: "button", onclick: () => this.useRecipeSteps(i, note.steps) }, `Use ${note.steps} steps`)
      : null;
    const span = this.props.length + (this.showState ? 3 : 2);
    return h("tr.kind-note", { dataset: { phase: String(i) } }, h("td", { colspan: String(span) }, h("span.kind-note-text", { role: "status" }, note.text), use ? " " : null, use));
  }

  useRecipeSteps(i, steps) {
    this.pullInputs();
    this.phases[i] = { ...this.phases[i], steps };
    this.kindNotes = { ...this.kindNotes, [i]: null };
    this.render();
    this.onChange();
  }

  settingChanged(i, key) {
    const cell = this.rows[i]?.settingsInputs[key];
    if (!cell) return;
    const result = this.checkSetting(cell);
    this.phases[i].settings = { ...(this.phases[i].settings || {}), [key]: "value" in result ? result.value : cell.input.value };
    this.onChange();
  }

  checkSetting({ input, desc, error }) {
    const result = readInput(input, desc);
    setError(input, error, result.error || "");
    return result;
  }

  check(i, key, { input, desc, error }) {
    let result = readInput(input, desc);
    if (!result.error && key === "steps" && this.current && i === this.current.index && result.value < this.current.done) {
      result = { error: `at least ${this.current.done} (steps already run)` };
    }
    setError(input, error, result.error || "");
    return result;
  }

  /** Read every editable cell back into `phases` (raw text where invalid). */
  pullInputs() {
    this.rows.forEach((row, i) => {
      for (const [key, cell] of Object.entries(row.inputs)) {
        const result = readInput(cell.input, cell.desc);
        this.phases[i][key] = "value" in result ? result.value : cell.input.value;
      }
      for (const [key, cell] of Object.entries(row.settingsInputs || {})) {
        const result = readInput(cell.input, cell.desc);
        this.phases[i].settings = { ...(this.phases[i].settings || {}), [key]: "value" in result ? result.value : cell.input.value };
      }
    });
  }

  /** {phases, errors}: the schedule as typed values, and the count of invalid cells. */
  read() {
    let errors = 0;
    this.rows.forEach((row, i) => {
      for (const [key, cell] of Object.entries(row.inputs)) {
        const result = this.check(i, key, cell);
        if (result.error) errors += 1;
        else this.phases[i][key] = result.value;
      }
      for (const [key, cell] of Object.entries(row.settingsInputs || {})) {
        const result = this.checkSetting(cell);
        if (result.error) errors += 1;
        else this.phases[i].settings = { ...(this.phases[i].settings || {}), [key]: result.value };
      }
    });
    return { phases: this.phases.map((p) => ({ ...p })), errors };
  }

  /** Server errors for "schedule.<i>.<key>" paths; returns the messages not placed. */
  showErrors(items) {
    const left = [];
    for (const { path, message } of items) {
      const [, index, key, sub] = path.split(".");
      const row = this.rows[Number(index)];
      // schedule.N.settings.<field>: the kind's own field; schedule.N.settings: its kind
      const cell = key === "settings" ? (sub ? row?.settingsInputs?.[sub] : row?.inputs.kind) : row?.inputs[key];
      if (cell) setError(cell.input, cell.error, message);
      else left.push({ path, message });
    }
    return left;
  }

  clearErrors() {
    this.rows.forEach((row) =>
      [...Object.values(row.inputs), ...Object.values(row.settingsInputs || {})].forEach((c) => setError(c.input, c.error, "")),
    );
  }

  add() {
    this.kindNotes = {};
    this.pullInputs();
    const last = this.phases[this.phases.length - 1] || {};
    const phase = newPhase();
    this.phases.push({ ...this.defaults, ...phase, batch_size: last.batch_size ?? this.defaults.batch_size, ...(phaseKind(phase.kind)?.defaults || {}) });
    this.render();
    this.onChange();
    this.rows[this.rows.length - 1]?.inputs.kind?.input.focus();
  }

  remove(i) {
    this.kindNotes = {};
    this.pullInputs();
    this.phases.splice(i, 1);
    this.render();
    this.onChange();
  }

  move(i, delta) {
    this.kindNotes = {};
    this.pullInputs();
    const [phase] = this.phases.splice(i, 1);
    this.phases.splice(i + delta, 0, phase);
    this.render();
    this.onChange();
  }
}

function display(value, desc) {
  if (value === null || value === undefined) return desc.nullable ? "off" : "–";
  return typeof value === "number" ? short(value) : String(value);
}

function iconButton(text, label, onclick) {
  return h("button.icon", { type: "button", title: label, "aria-label": label, onclick }, text);
}

export function setError(input, errorEl, message) {
  errorEl.textContent = message;
  if (message) input.setAttribute("aria-invalid", "true");
  else input.removeAttribute("aria-invalid");
}
