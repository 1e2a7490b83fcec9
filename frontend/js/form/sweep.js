// "Sweep over…" on the new-run page: instead of one run, start a sweep — the form's
// settings as the base, and a grid over one or more fields (each with a list of values).
// POST /api/sweeps checks every cell first; a refused cell is named here with its field.

import { api } from "../core/api.js";
import { h, fill } from "../core/dom.js";

/** "0, 1, 2" -> [0, 1, 2]; "demo, tiny" -> ["demo", "tiny"]; JSON items stay JSON. */
export function parseValues(text) {
  return splitTop(text)
    .map((s) => s.trim())
    .filter(Boolean)
    .map((s) => {
      try {
        return JSON.parse(s);
      } catch {
        return s;
      }
    });
}

/** Split at commas outside brackets and quotes. */
function splitTop(text) {
  const out = [];
  let depth = 0;
  let quote = false;
  let cur = "";
  for (const c of text) {
    if (c === '"') quote = !quote;
    if (!quote && (c === "[" || c === "{")) depth += 1;
    if (!quote && (c === "]" || c === "}")) depth -= 1;
    if (c === "," && depth === 0 && !quote) {
      out.push(cur);
      cur = "";
    } else cur += c;
  }
  out.push(cur);
  return out;
}

const HINTS = {
  seed: "e.g. 0, 1, 2",
  schedule: "preset names whose schedule to use, e.g. tiny, demo, paper",
};

export class SweepSection {
  /** form: the RunForm (its fields, collect() and presets). */
  constructor(form) {
    this.form = form;
    this.rows = [];
    this.list = h("div.sweep-rows");
    this.error = h("div.sweep-banner#sweep-error", { role: "alert", hidden: true });
    this.name = h("input#sweep-name", { type: "text", value: "sweep", maxlength: "80" });
    this.count = h("span.muted#sweep-count");
    this.button = h("button.secondary#start-sweep", { type: "button", onclick: () => this.send() }, "Start sweep");
    this.el = h(
      "details.card.form-section.sweep-section#section-sweep",
      h("summary", h("b", "Sweep over…"), h("span.muted", " run these settings several times, changing one or more fields (every combination)")),
      h("p.muted", "The settings above are the base of every run. Pick a field and give its values, separated by commas; add more fields for a grid. Each run queues as usual; all share the cached backdoored model when data, model, attack and seed agree."),
      h("div.field", h("label", { for: "sweep-name" }, "Sweep name"), this.name),
      this.list,
      h("div.row", h("button.ghost.small#sweep-add", { type: "button", onclick: () => this.addRow() }, "+ another field"), this.count),
      this.error,
      h("div.form-actions.sweep-actions", this.button),
    );
    this.addRow("seed", "0, 1, 2");
  }

  paths() {
    const fields = [...this.form.fields.entries()]
      .filter(([, f]) => ["integer", "number", "enum", "boolean"].includes(f.desc.type) || f.desc.enum)
      .map(([path, f]) => [path, `${f.label} (${path})`]);
    return [
      ["schedule", "Schedule (a preset's phases)"],
      ["schedule.0.lr", "Phase 1 learning rate (schedule.0.lr)"],
      ["schedule.0.steps", "Phase 1 steps (schedule.0.steps)"],
      ...fields,
    ];
  }

  addRow(path = "schedule", values = "") {
    const select = h("select.sweep-field", { "aria-label": "Field to sweep over", onchange: () => this.hint(row) }, this.paths().map(([p, label]) => h("option", { value: p }, label)));
    select.value = path;
    const input = h("input.sweep-values", { type: "text", value: values, "aria-label": "Values, comma-separated", oninput: () => this.updateCount() });
    const remove = h("button.icon", { type: "button", "aria-label": "Remove this field", onclick: () => this.removeRow(row) }, "✕");
    const row = { select, input, el: h("div.row.sweep-row", select, input, remove) };
    this.rows.push(row);
    this.list.append(row.el);
    this.hint(row);
    this.updateCount();
  }

  removeRow(row) {
    this.rows = this.rows.filter((r) => r !== row);
    row.el.remove();
    this.updateCount();
  }

  hint(row) {
    row.input.placeholder = HINTS[row.select.value] || "values, comma-separated";
  }

  grid() {
    const grid = {};
    for (const r of this.rows) {
      const values = parseValues(r.input.value);
      if (values.length) grid[r.select.value] = values;
    }
    return grid;
  }

  updateCount() {
    const grid = this.grid();
    const n = Object.values(grid).reduce((a, v) => a * v.length, Object.keys(grid).length ? 1 : 0);
    this.count.textContent = n ? `${n} run${n > 1 ? "s" : ""}` : "no values yet";
  }

  async send() {
    this.error.hidden = true;
    const grid = this.grid();
    if (!Object.keys(grid).length) {
      this.showError("Give at least one field some values.");
      return;
    }
    const { config, errors } = this.form.collect();
    if (errors) {
      this.showError("Some settings above need fixing first (marked in red).");
      return;
    }
    this.button.disabled = true;
    this.button.textContent = "Starting…";
    try {
      const sweep = await api.createSweep({ name: this.name.value || "sweep", base: config, grid });
      location.hash = `#/sweep/${sweep.id}`;
    } catch (err) {
      this.showError(`The sweep was not started: ${err.detail}`, err.errors);
    } finally {
      this.button.disabled = false;
      this.button.textContent = "Start sweep";
    }
  }

  showError(text, lines = []) {
    fill(this.error, h("p", text), lines.length > 1 ? h("ul", lines.map((l) => h("li", l))) : null);
    this.error.hidden = false;
  }
}
