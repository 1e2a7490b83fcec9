// A phase visual's line for people. A phase names a layer in plain words followed by its
// internal name in brackets ("layer 3, block 2 [net.features.stage3.1.1]"): the words show,
// the internal name is their tooltip.

import { h } from "../../core/dom.js";

const NAMED = /([^;:,[\]]*?[^\s;:,[\]][^;:[\]]*?)\s*\[([\w.]+)\]/g;

/** Nodes of `text`: plain strings, and spans whose title is the internal name. */
export function visualText(text) {
  const out = [];
  let at = 0;
  for (const m of (text || "").matchAll(NAMED)) {
    const words = m[1].trimStart();
    const start = m.index + m[0].indexOf(words);
    if (start > at) out.push(text.slice(at, start));
    out.push(h("span.dv-named", { title: m[2], style: "text-decoration: underline dotted; cursor: help;" }, words));
    at = m.index + m[0].length;
  }
  if (at < (text || "").length) out.push(text.slice(at));
  return out;
}
