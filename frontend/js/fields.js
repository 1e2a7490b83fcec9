// Form fields from the RunConfig JSON schema: which widget, how to read it back, and the
// checks the schema states (type, range, choices). Rules across fields stay on the server.

import { h } from "./dom.js";

/** Labels, units and one-line hints, by field path (phase fields by their own name). */
export const FIELD_INFO = {
  name: { label: "Run name" },
  seed: { label: "Seed", hint: "seeds data, poisoning, sampling and training" },
  "data.name": { label: "Data set", hint: "shapes: built in, no download" },
  "data.root": { label: "Data folder", hint: "empty: the server's --data-dir" },
  "data.download": { label: "Download CIFAR-10", hint: "needs internet" },
  "data.image_size": { label: "Image size", unit: "px" },
  "data.train_size": { label: "Training images", hint: "empty: all" },
  "data.test_size": { label: "Test images", hint: "empty: all" },
  "data.mean": { label: "Mean (R, G, B)", hint: "normalisation inside the model" },
  "data.std": { label: "Std (R, G, B)" },
  "data.augment": { label: "Augmentation" },
  "model.name": { label: "Model" },
  "model.width": { label: "Width", unit: "channels", hint: "small_cnn first-stage width" },
  "model.cam_layer": { label: "Grad-CAM layer", hint: "empty: the model's last conv block" },
  "attack.kind": { label: "Attack" },
  "attack.target_class": { label: "Target class", hint: "all-to-one target label" },
  "attack.poison_rate": { label: "Poison rate", hint: "fraction of training images" },
  "attack.trigger_size": { label: "Trigger size", unit: "px" },
  "attack.position": { label: "Trigger position" },
  "attack.x": { label: "Trigger x", unit: "px", hint: "with position xy" },
  "attack.y": { label: "Trigger y", unit: "px", hint: "with position xy" },
  "attack.pattern": { label: "Trigger pattern" },
  "attack.margin": { label: "Margin", unit: "px", hint: "from the border (corner positions)" },
  "attack.alpha": { label: "Blend weight", hint: "blended attack only" },
  "attack.pattern_seed": { label: "Pattern seed" },
  "training.epochs": { label: "Epochs", hint: "training of the backdoored model" },
  "training.batch_size": { label: "Batch size" },
  "training.lr": { label: "Peak learning rate" },
  "training.weight_decay": { label: "Weight decay" },
  "training.momentum": { label: "Momentum" },
  "training.label_smoothing": { label: "Label smoothing" },
  "defense.forget_size": { label: "Forget set", unit: "images", hint: "identified poisoned samples" },
  "defense.clean_fraction": { label: "Clean fraction", hint: "of the training set" },
  "defense.fisher_samples": { label: "Fisher samples", unit: "images" },
  "monitor.budget": { label: "Monitoring budget", hint: "share of wall time; 0 = every interval" },
  "training.precision": { label: "Precision" },
  "monitor.probe_count": { label: "Probe samples", hint: "shown with heatmaps" },
  "monitor.frame_every": { label: "Heatmaps every", unit: "steps", hint: "0 = never" },
  "monitor.tar_every": { label: "TAR every", unit: "steps", hint: "0 = never" },
  "monitor.tar_set_size": { label: "TAR set", unit: "images" },
  "monitor.eval_every": { label: "ASR/CA every", unit: "steps", hint: "0 = never" },
  "monitor.eval_size": { label: "ASR/CA subset", unit: "images" },
  "monitor.cam_method": { label: "CAM method" },
  "monitor.cam_class": { label: "CAM class" },
  // phase fields (schedule[i].*)
  kind: { label: "Kind" },
  steps: { label: "Steps" },
  lr: { label: "LR" },
  batch_size: { label: "Batch" },
  momentum: { label: "Momentum" },
  ewc_lambda: { label: "EWC λ" },
  clip_norm: { label: "Clip norm", hint: "empty: off" },
  loss_clamp: { label: "Loss clamp", hint: "empty: off" },
  forget_weight: { label: "Forget weight" },
  distill_weight: { label: "Distill weight" },
  stop_asr_below: { label: "Stop at ASR <", unit: "%", hint: "empty: off" },
};

export function labelOf(path, prop) {
  const key = FIELD_INFO[path] ? path : path.split(".").pop();
  return FIELD_INFO[key]?.label || prop?.title || key;
}

export function infoOf(path) {
  return FIELD_INFO[path] || FIELD_INFO[path.split(".").pop()] || {};
}

/** Follow a {"$ref": "#/$defs/X"} to its definition. */
export function resolve(root, node) {
  if (node && node.$ref) return root.$defs[node.$ref.split("/").pop()];
  return node;
}

/** What a schema property is: {type, nullable, enum, min, max, exMin, exMax, default}. */
export function describe(prop) {
  let node = prop;
  let nullable = false;
  if (prop.anyOf) {
    nullable = prop.anyOf.some((a) => a.type === "null");
    node = prop.anyOf.find((a) => a.type !== "null") || {};
  }
  let type = node.type;
  if (node.enum) type = "enum";
  else if (type === "array") type = "triple";
  return {
    type,
    nullable,
    enum: node.enum,
    min: node.minimum,
    max: node.maximum,
    exMin: node.exclusiveMinimum,
    exMax: node.exclusiveMaximum,
    default: prop.default,
  };
}

/** The input element of a field; `desc` from describe(). */
export function createInput(desc, { id, path, compact = false }) {
  const common = { id, name: path, "data-path": path };
  if (desc.type === "enum") {
    return h("select", common, desc.enum.map((v) => h("option", { value: v }, v)));
  }
  if (desc.type === "boolean") return h("input", { ...common, type: "checkbox" });
  if (desc.type === "integer" || desc.type === "number") {
    return h("input", {
      ...common,
      type: "text",
      inputmode: desc.type === "integer" ? "numeric" : "decimal",
      autocomplete: "off",
      placeholder: desc.nullable ? "none" : "",
      class: compact ? "num compact" : "num",
    });
  }
  return h("input", { ...common, type: "text", autocomplete: "off", placeholder: desc.nullable ? "none" : "" });
}

export function writeInput(el, desc, value) {
  if (desc.type === "boolean") el.checked = Boolean(value);
  else if (desc.type === "triple") el.value = (value || []).join(", ");
  else el.value = value === null || value === undefined ? "" : String(value);
}

/** {value} or {error}: the schema's checks on one field. */
export function readInput(el, desc) {
  if (desc.type === "boolean") return { value: el.checked };
  const raw = el.value.trim();
  if (desc.type === "enum") return { value: raw };
  if (raw === "") {
    if (desc.nullable) return { value: null };
    if (desc.type === "string") return { error: "required" };
    return { error: "required: enter a number" };
  }
  if (desc.type === "string") return { value: raw };
  if (desc.type === "triple") {
    const parts = raw.split(/[\s,]+/).filter(Boolean).map(Number);
    if (parts.length !== 3 || parts.some((v) => !Number.isFinite(v))) {
      return { error: "three numbers, one per colour channel: 0.5, 0.5, 0.5" };
    }
    return { value: parts };
  }
  const value = Number(raw);
  if (!Number.isFinite(value)) return { error: "must be a number" };
  if (desc.type === "integer" && !Number.isInteger(value)) return { error: "must be a whole number" };
  return checkRange(value, desc);
}

function checkRange(value, d) {
  if (d.min !== undefined && value < d.min) return { error: `must be at least ${d.min}` };
  if (d.exMin !== undefined && value <= d.exMin) return { error: `must be greater than ${d.exMin}` };
  if (d.max !== undefined && value > d.max) return { error: `must be at most ${d.max}` };
  if (d.exMax !== undefined && value >= d.exMax) return { error: `must be less than ${d.exMax}` };
  return { value };
}

/** "Value error, x" -> "x": server messages as a person reads them. */
export function cleanMessage(message) {
  return String(message).replace(/^(Value error|Assertion failed), /, "");
}

/** Split "field.path: message" lines of a 422 answer into {path, message}. */
export function splitErrorLines(lines) {
  return lines.map((line) => {
    const i = line.indexOf(": ");
    return i < 0 ? { path: "", message: line } : { path: line.slice(0, i), message: cleanMessage(line.slice(i + 2)) };
  });
}
