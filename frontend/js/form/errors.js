// Server refusals (422) in words a person reads: the field's label instead of its internal
// path, pydantic's phrasing turned into "must be …", the allowed range spelled out; and
// the field brought into view in the middle of the screen (clear of the sticky bars).

import { cleanMessage } from "./fields.js";

const PYDANTIC = [
  [/^Input should be greater than or equal to (\S+)$/, "must be at least $1"],
  [/^Input should be greater than (\S+)$/, "must be greater than $1"],
  [/^Input should be less than or equal to (\S+)$/, "must be at most $1"],
  [/^Input should be less than (\S+)$/, "must be less than $1"],
  [/^Input should be a valid integer.*$/, "must be a whole number"],
  [/^Input should be a valid number.*$/, "must be a number"],
  [/^Field required$/, "is required"],
];

/** "from 0 to 9", "at least 1", "greater than 0", or "" when the schema states no range. */
export function rangeWords(d) {
  const lo = d.min !== undefined ? ["at least", d.min] : d.exMin !== undefined ? ["greater than", d.exMin] : null;
  const hi = d.max !== undefined ? ["at most", d.max] : d.exMax !== undefined ? ["less than", d.exMax] : null;
  if (lo && hi && d.min !== undefined && d.max !== undefined) return `from ${d.min} to ${d.max}`;
  if (lo && hi) return `${lo.join(" ")} and ${hi.join(" ")}`;
  if (lo) return lo.join(" ");
  if (hi) return hi.join(" ");
  return "";
}

/**
 * A server message about one field, for people: internal paths named by their labels
 * (`labels`: path -> label), pydantic's wording simplified, and the allowed range added
 * when the message does not already state one.
 */
export function humanMessage(message, { desc = {}, labels = {} } = {}) {
  let text = cleanMessage(message);
  for (const [re, out] of PYDANTIC) text = text.replace(re, out);
  for (const [path, label] of Object.entries(labels)) {
    text = text.replace(new RegExp(`\\b${path.replace(/\./g, "\\.")}\\s*=\\s*`, "g"), `${label} `);
    text = text.replace(new RegExp(`\\b${path.replace(/\./g, "\\.")}\\b`, "g"), label);
  }
  const range = rangeWords(desc);
  if (range && !/allowed/.test(text)) text += ` (allowed: ${range})`;
  return text;
}

/** Scroll `el` to the middle of the window (clear of sticky bars), then focus it. */
export function bringIntoView(el) {
  if (!el) return;
  el.scrollIntoView({ block: "center", inline: "nearest" });
  el.focus({ preventScroll: true });
}
