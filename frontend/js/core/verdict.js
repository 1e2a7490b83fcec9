// The verdict as the API computed it (unlearnscope/verdict.py, against the run's success
// criteria): a coloured word with an icon, never colour alone. The page judges nothing
// itself; a run without a verdict (not finished) shows none.

import { h } from "./dom.js";

/** A short chip: icon + word ("✗ Not removed"), the plain sentence as its tooltip. */
export function verdictChip(v, tag = "span") {
  if (!v) return null;
  return h(
    `${tag}.verdict-chip.verdict-${v.tone}`,
    { title: v.sentence, dataset: { outcome: v.outcome } },
    h("span.verdict-icon", { "aria-hidden": "true" }, v.icon),
    ` ${v.label}${v.final === false ? " (so far)" : ""}`,
  );
}

/** The whole sentence ("✗ Not removed: ASR 99.8% → 90.0%; the bar is below 10.0%."). */
export function verdictLine(v, id = null) {
  if (!v) return null;
  return h(
    `p.verdict-line.verdict-${v.tone}${id ? `#${id}` : ""}`,
    { dataset: { outcome: v.outcome }, role: "status" },
    h("span.verdict-icon", { "aria-hidden": "true" }, v.icon),
    " ",
    v.sentence,
  );
}

/** Whether a run's verdict misses the bar (finished and not passed). */
export const missesBar = (v) => Boolean(v && v.final && v.passed === false);
