// The new-run form, generated from the RunConfig JSON schema of GET /api/options:
// a preset picker that fills the fields, grouped sections, checks next to each field,
// and the server's 422 messages placed at the fields they name.

import { api } from "../core/api.js";
import { h, fill } from "../core/dom.js";
import {
  createInput, describe, infoOf, labelOf, readInput, resolve, splitErrorLines, writeInput,
} from "./fields.js";
import { bringIntoView, humanMessage } from "./errors.js";
import { PhaseTable, setError } from "./phasetable.js";
import { SweepSection } from "./sweep.js";
import { OwnModel } from "./ownmodel.js";
import { phaseKinds } from "../core/vocab.js";
import { verdictChip } from "../core/verdict.js";

const SECTIONS = [
  { key: "", title: "Run", fields: ["name", "seed"] },
  { key: "data", title: "Data" },
  { key: "model", title: "Model" },
  { key: "attack", title: "Attack", note: "the backdoor planted before unlearning" },
  { key: "training", title: "Backdoor training", note: "how the backdoored model is trained (cached)" },
  { key: "defense", title: "Defender's knowledge", note: "what unlearning may use" },
  { key: "monitor", title: "Monitoring", note: "what is measured while unlearning runs" },
  { key: "success", title: "Success criteria", note: "the bar the run's verdict judges it by: removed, not removed, came back…" },
];

const ADVANCED = new Set([
  "data.root", "data.download", "data.mean", "data.std", "model.cam_layer", "attack.settings.margin",
  "attack.settings.pattern_seed", "attack.settings.mask_density", "attack.settings.lambda_div",
  "attack.settings.lambda_norm", "attack.settings.generator_lr", "monitor.region_threshold",
  "training.weight_decay", "training.momentum", "training.label_smoothing",
  "defense.fisher_samples", "monitor.tar_set_size", "monitor.eval_size",
]);

/** Fields that only matter for some choices: hidden otherwise (values are kept). */
const SHOW_IF = {
  "data.root": (c) => c.data.name !== "shapes",
  "data.download": (c) => ["cifar10", "cifar100", "gtsrb"].includes(c.data.name),
  "model.width": (c) => c.model.name === "small_cnn",
  "model.file": (c) => c.model.source !== "train",
  "attack.known": (c) => c.model.source === "file",
  // a model from a file: its trigger as the user knows it (a BackdoorBench file brings its own)
  "attack.kind": (c) => knownTrigger(c),
  "attack.target_class": (c) => knownTrigger(c),
  "attack.poison_rate": (c) => c.model.source === "train",
  "attack.triggered_root": (c) => c.model.source === "file" && c.attack.known && c.data.name === "imagefolder",
  "defense.forget_root": (c) => c.model.source === "file",
  // (an attack's own settings show for that attack alone: the `attacks` of each field)
  "attack.settings.margin": (c) => c.attack.settings.position !== "xy",
  "attack.settings.x": (c) => c.attack.settings.position === "xy",
  "attack.settings.y": (c) => c.attack.settings.position === "xy",
  "monitor.region_percent": (c) => c.attack.kind !== "badnets" && c.monitor.region === "top",
  "monitor.region_threshold": (c) => c.attack.kind !== "badnets" && c.monitor.region === "threshold",
  "monitor.region": (c) => c.attack.kind !== "badnets",
};

// What a preset's measured outcome (GET /api/options preset_outcomes, written by
// scripts/preset_outcomes.py with the API's verdict) means for someone choosing it.
const PRESET_OUTCOME = {
  removed: "this preset removes the backdoor here",
  came_back: "this preset removes the backdoor here, but an attack on the result brings it back",
  ca_lost: "this preset removes the backdoor here, but costs more clean accuracy than the bar allows",
  weakened: "this preset shows a defence that weakens the backdoor but does not remove it here",
  not_removed: "this preset shows a defence that does not remove the backdoor here",
  broken: "this preset breaks the model here (clean accuracy at chance)",
};

/** The measured outcome of preset `name` beside the preset choice: a chip and a sentence. */
export function presetOutcome(outcome) {
  const v = outcome?.verdict;
  if (!v || !PRESET_OUTCOME[v.outcome]) return [];
  const when = [outcome.measured, outcome.machine].filter(Boolean).join(", ");
  return [verdictChip(v), h("b", `Measured: ${PRESET_OUTCOME[v.outcome]}. `), h("span.muted", `${v.sentence}${when ? ` (${when})` : ""}`)];
}


export class RunForm {
  constructor(root, { onCreated, preset, from }) {
    this.root = root;
    this.onCreated = onCreated;
    this.fields = new Map(); // path -> {input, error, desc, wrap}
    this.sectionErrors = new Map();
    fill(root, h("p.loading", "Loading the settings form…"));
    this.load(preset, from).catch((err) =>
      fill(root, h("div.notice.error", h("h2", "The form could not be loaded"), h("p", err.message))),
    );
  }

  async load(preset, from) {
    const options = await api.options();
    this.options = options;
    this.schema = options.run_config_schema;
    let start = options.presets[preset] ? preset : options.default_preset;
    let config = options.presets[start];
    if (from) {
      const run = await api.getRun(from);
      config = run.config;
      start = "";
      this.fromName = run.name;
    }
    this.build(start);
    this.fillWith(config);
  }

  build(presetName) {
    const presetSelect = h(
      "select#preset",
      { onchange: (e) => this.applyPreset(e.target.value) },
      this.fromName ? h("option", { value: "" }, `settings of “${this.fromName}”`) : null,
      Object.keys(this.options.presets).map((name) => {
        const v = this.options.preset_outcomes?.[name]?.verdict;
        return h("option", { value: name }, v ? `${name} — ${v.icon} ${v.label}` : name);
      }),
    );
    presetSelect.value = presetName;
    this.presetNote = h("p.muted.preset-note#preset-note", this.options.preset_descriptions?.[presetName] || "");
    this.presetOutcome = h("p.preset-outcome#preset-outcome", presetOutcome(this.options.preset_outcomes?.[presetName]));
    this.banner = h("div.form-banner", { role: "alert", hidden: true });
    this.phaseTable = new PhaseTable(this.schema, { idPrefix: "form-phase", showState: false, onChange: () => this.updateSummary() });
    this.scheduleError = h("div.field-error", { id: "schedule-error" });
    this.summary = h("span.muted.form-summary");
    this.submit = h("button.primary#start-run", { type: "submit" }, "Start run");
    const form = h(
      "form.run-form",
      { novalidate: true, onsubmit: (e) => { e.preventDefault(); this.send(); } },
      h("div.form-grid", SECTIONS.map((s) => this.section(s))),
      h(
        "fieldset.card.form-section.schedule-section#section-schedule",
        h("legend", "Phase schedule"),
        h("p.muted", "Phases run in order, each with its own kind and settings. You can change future phases while the run goes."),
        h(
          "details.more.phase-kinds",
          h("summary", `What each phase kind does (${phaseKinds().length} kinds)`),
          h("dl.kind-list", phaseKinds().flatMap((k) => [h("dt", h("b", k.kind), ` · ${k.label}`), h("dd", k.description)])),
        ),
        this.phaseTable.el,
        this.scheduleError,
      ),
      h("div.form-actions", this.submit, this.summary),
    );
    fill(
      this.root,
      h(
        "header.page-head",
        h("div", h("h2", "New run"), h("p.muted", "Pick a preset, change what you like, then start. Every field has a sensible default.")),
        h("label.preset-pick", { for: "preset" }, "Preset ", presetSelect),
      ),
      this.presetNote,
      this.presetOutcome,
      this.banner,
      form,
    );
    this.sweep = new SweepSection(this); // "Sweep over…": the same settings, several runs
    form.after(this.sweep.el);
    this.own = new OwnModel(this); // upload + check under "Model file" and "Data folder"
    this.fields.get("model.file")?.wrap.after(this.own.el);
    this.fields.get("data.name")?.wrap.parentElement.append(this.own.dataEl); // not under "More"
    form.addEventListener("input", () => this.updateVisibility());
    form.addEventListener("change", () => this.updateVisibility());
  }

  section({ key, title, note, fields }) {
    const node = key ? resolve(this.schema, this.schema.properties[key]) : this.schema;
    const props = { ...node.properties };
    // the attack's own settings: every registered attack's fields, each shown for its attack
    const attacksOf = {};
    if (key === "attack") {
      delete props.settings;
      for (const attack of this.options.attack_kinds) {
        for (const [name, prop] of Object.entries(attack.settings_schema.properties)) {
          const path = `settings.${name}`;
          props[path] ??= prop;
          (attacksOf[path] ??= []).push(attack.kind);
        }
      }
    }
    const names = fields || Object.keys(props);
    const make = (name) => this.field(key ? `${key}.${name}` : name, props[name], attacksOf[name]);
    const basic = names.filter((n) => !ADVANCED.has(key ? `${key}.${n}` : n)).map(make);
    const advanced = names.filter((n) => ADVANCED.has(key ? `${key}.${n}` : n)).map(make);
    const error = h("div.field-error.section-error", { role: "alert" });
    this.sectionErrors.set(key, error);
    return h(
      `fieldset.card.form-section#section-${key || "run"}`,
      h("legend", title),
      note ? h("p.muted.section-note", { id: `note-${key}` }, note) : null,
      error,
      h("div.fields", basic),
      advanced.length ? h("details.more", h("summary", "More settings"), h("div.fields", advanced)) : null,
    );
  }

  field(path, prop, attacks = null) {
    const desc = describe(prop);
    const id = `f-${path.replace(/\./g, "-")}`;
    const input = createInput(desc, { id, path });
    // a free-text field with suggestions (model.name: the registry's models and examples)
    const suggestions = desc.examples ? h(`datalist#${id}-list`, desc.examples.map((v) => h("option", { value: v }))) : null;
    if (suggestions) input.setAttribute("list", `${id}-list`);
    const error = h("div.field-error", { id: `${id}-error`, role: "alert" });
    const info = infoOf(prop);
    const hintId = `${id}-hint`;
    input.setAttribute("aria-describedby", `${hintId} ${id}-error`);
    const label = h("label", { for: id }, labelOf(prop, path), info.unit ? h("span.unit", ` (${info.unit})`) : null);
    const hint = h("div.hint", { id: hintId }, info.hint || rangeText(desc));
    const wrap = h(
      desc.type === "boolean" ? "div.field.check" : "div.field",
      { dataset: { path } },
      desc.type === "boolean" ? [input, label] : [label, input],
      suggestions,
      hint,
      error,
    );
    input.addEventListener("input", () => this.check(path));
    input.addEventListener("change", () => this.check(path));
    // attacks: the attacks whose settings have this field (GET /api/options attack_kinds)
    this.fields.set(path, { input, error, desc, wrap, label: labelOf(prop, path), attacks });
    return wrap;
  }

  applyPreset(name) {
    if (!name) return;
    this.presetNote.textContent = this.options.preset_descriptions?.[name] || "";
    fill(this.presetOutcome, presetOutcome(this.options.preset_outcomes?.[name]));
    this.fillWith(this.options.presets[name]);
  }

  fillWith(config) {
    for (const [path, f] of this.fields) {
      const value = path.split(".").reduce((o, k) => (o == null ? undefined : o[k]), config);
      // another attack's settings are not in the config: they start at their defaults
      writeInput(f.input, f.desc, value === undefined && f.attacks ? f.desc.default : value);
      setError(f.input, f.error, "");
    }
    this.phaseTable.set(config.schedule || []);
    this.clearServerErrors();
    this.updateVisibility();
    this.updateSummary();
  }

  check(path) {
    const f = this.fields.get(path);
    const result = readInput(f.input, f.desc);
    setError(f.input, f.error, result.error || "");
    return result;
  }

  /** The config as typed values (whatever parses), for SHOW_IF and sending. */
  collect() {
    const config = {};
    let errors = 0;
    let first = null;
    const kind = this.fields.get("attack.kind")?.input.value;
    for (const [path, f] of this.fields) {
      if (f.attacks && !f.attacks.includes(kind)) continue; // another attack's setting
      const result = f.wrap.hidden ? readInput(f.input, f.desc) : this.check(path);
      if (result.error) {
        if (f.wrap.hidden) continue; // a hidden field keeps its default on the server
        errors += 1;
        first ??= f.input;
        continue;
      }
      const keys = path.split(".");
      let node = config;
      keys.slice(0, -1).forEach((k) => (node = node[k] ??= {}));
      node[keys[keys.length - 1]] = result.value;
    }
    const schedule = this.phaseTable.read();
    config.schedule = schedule.phases;
    errors += schedule.errors;
    first ??= this.phaseTable.el.querySelector("[aria-invalid]");
    return { config, errors, first };
  }

  updateVisibility() {
    const current = { data: {}, model: {}, attack: { settings: {} }, monitor: {} };
    for (const [path, f] of this.fields) {
      const keys = path.split(".");
      let node = current;
      keys.slice(0, -1).forEach((k) => (node = node[k] ??= {}));
      node[keys[keys.length - 1]] = f.desc.type === "boolean" ? f.input.checked : f.input.value;
    }
    for (const [path, f] of this.fields) {
      const ours = !f.attacks || f.attacks.includes(current.attack.kind);
      f.wrap.hidden = !(ours && (SHOW_IF[path]?.(current) ?? true));
      // a model from a file: the attack's own settings only matter for a known trigger
      if (f.attacks && !knownTrigger(current)) f.wrap.hidden = true;
    }
    const imported = current.model.source !== "train";
    const attackNote = this.root.querySelector("#note-attack");
    if (attackNote) {
      attackNote.textContent = !imported
        ? SECTIONS.find((x) => x.key === "attack").note
        : current.model.source === "backdoorbench"
          ? "the trigger comes with the BackdoorBench file (its triggered test set)"
          : "the trigger as you know it; untick “Trigger known” if nobody knows it";
    }
    const training = this.root.querySelector("#section-training");
    if (training) training.hidden = imported; // nothing is trained before unlearning
    if (this.own) {
      this.own.el.hidden = !imported;
      this.own.dataEl.hidden = !imported && current.data.name !== "imagefolder";
    }
  }

  updateSummary() {
    const steps = this.phaseTable.phases.reduce((n, p) => n + (Number(p.steps) || 0), 0);
    const n = this.phaseTable.phases.length;
    this.summary.textContent = `${n} ${n === 1 ? "phase" : "phases"}, ${steps} unlearning steps`;
  }

  clearServerErrors() {
    this.banner.hidden = true;
    this.sectionErrors.forEach((el) => (el.textContent = ""));
    this.scheduleError.textContent = "";
  }

  async send() {
    this.clearServerErrors();
    const { config, errors, first } = this.collect();
    if (errors) {
      this.showBanner(`${errors} field${errors > 1 ? "s need" : " needs"} fixing: see the messages in red below.`);
      bringIntoView(first);
      return;
    }
    this.submit.disabled = true;
    this.submit.textContent = "Starting…";
    try {
      const run = await api.createRun(config);
      this.onCreated(run);
    } catch (err) {
      if (err.status === 422) this.placeErrors(err);
      else this.showBanner(`The run was not started: ${err.detail}`);
    } finally {
      this.submit.disabled = false;
      this.submit.textContent = "Start run";
    }
  }

  /** 422: each "path: message" next to its field; what has no field goes to the banner. */
  placeErrors(err) {
    const items = splitErrorLines(err.errors.length ? err.errors : [err.detail]);
    const known = [...this.fields.keys()].filter((k) => k.includes("."));
    const rest = [];
    const named = []; // "Target class: … (allowed: …)" for the banner, each a way to its field
    let first = null;
    const labels = Object.fromEntries([...this.fields].map(([p, f]) => [p, f.label]));
    for (const { path, message } of items) {
      let target = this.fields.has(path) ? path : null;
      if (!target && (path === "config" || path === "" || this.sectionErrors.has(path))) {
        target = firstMentioned(known, message);
      }
      if (target) {
        const f = this.fields.get(target);
        f.wrap.hidden = false;
        f.wrap.closest("details")?.setAttribute("open", "");
        const text = humanMessage(message, { desc: f.desc, labels });
        setError(f.input, f.error, text);
        named.push({ text: `${f.label}: ${text}`, input: f.input });
        first ??= f.input;
      } else if (path.startsWith("schedule")) {
        const [, i, key] = path.split(".");
        const text = humanMessage(message, { labels });
        const left = this.phaseTable.showErrors([{ path, message: text }]);
        if (left.length) this.scheduleError.textContent = text;
        const input = this.phaseTable.el.querySelector(`[id$="-${i}-${key}"]`);
        named.push({ text: `Phase ${Number(i) + 1}, ${this.phaseTable.labelOf(key)}: ${text}`, input });
        first ??= input || this.phaseTable.el.querySelector("[aria-invalid]");
      } else if (this.sectionErrors.has(path)) {
        this.sectionErrors.get(path).textContent = humanMessage(message, { labels });
      } else {
        rest.push(path ? `${path}: ${humanMessage(message, { labels })}` : humanMessage(message, { labels }));
      }
    }
    this.showBanner(
      `The server refused these settings (${items.length} problem${items.length > 1 ? "s" : ""}); fix the fields marked in red and start again.`,
      [
        ...named.map(({ text, input }) =>
          input ? h("button.link", { type: "button", onclick: () => bringIntoView(input) }, text) : text,
        ),
        ...rest,
      ],
    );
    bringIntoView(first);
  }

  showBanner(text, lines = []) {
    fill(this.banner, h("p", text), lines.length ? h("ul", lines.map((l) => h("li", l))) : null);
    this.banner.hidden = false;
  }
}

/** The field path named earliest in a message ("attack.x=40 does not fit ..."), or null. */
function firstMentioned(paths, message) {
  let best = null;
  let at = Infinity;
  for (const p of paths) {
    const i = message.search(new RegExp(`\\b${p.replace(".", "\\.")}\\b`));
    if (i >= 0 && (i < at || (i === at && p.length > best.length))) {
      best = p;
      at = i;
    }
  }
  return best;
}

function rangeText(d) {
  const lo = d.min ?? (d.exMin !== undefined ? `>${d.exMin}` : null);
  const hi = d.max ?? (d.exMax !== undefined ? `<${d.exMax}` : null);
  if (d.type === "triple") return "three numbers";
  if (lo !== null && hi !== null) return `${lo} – ${hi}`;
  if (lo !== null) return `min ${lo}`;
  if (hi !== null) return `max ${hi}`;
  return d.nullable ? "empty: none" : "";
}

/** Is the trigger described by the attack fields? (a model trained here, or a model from a
 * checkpoint whose trigger the user knows) */
function knownTrigger(c) {
  return c.model.source === "train" || (c.model.source === "file" && c.attack.known);
}
