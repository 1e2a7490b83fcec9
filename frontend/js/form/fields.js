// Form fields from the RunConfig JSON schema: label, unit and hint (config.py's titles and
// descriptions), which widget, how to read it back, and the checks the schema states
// (type, range, choices). Rules across fields stay on the server.

import { h } from "../core/dom.js";

/** A field's label: its schema title (config.py's Field(title=...)), else its name. */
export function labelOf(prop, key) {
  return prop?.title || key;
}

/** A field's unit (the schema's "unit") and one-line hint (its description). */
export function infoOf(prop) {
  return { unit: prop?.unit, hint: prop?.description };
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
    examples: node.examples || prop.examples,
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
