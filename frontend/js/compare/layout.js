// The compare view's fixed parts: the legend of runs, the table of the settings that
// differ, the seed groups.

import { h } from "../core/dom.js";
import { statusBadgeClass, statusLabel } from "../core/format.js";

/** The runs: swatch, name, state and what sets each apart. */
export function legendList(runs) {
  return h(
    "ul.cv-legend#compare-legend",
    runs.map((r) =>
      h(
        "li",
        { dataset: { run: r.id } },
        h(
          "div.cv-legend-top",
          h("span.swatch", { class: `swatch dash-${r.dash}`, style: { background: r.color } }),
          h("a.cv-legend-name", { href: `#/run/${encodeURIComponent(r.id)}`, title: r.name }, r.name),
          h("span", { class: `cv-status ${statusBadgeClass(r.model.status)}` }, statusLabel(r.model.status)),
        ),
        h("div.muted.cv-differs", r.label),
      ),
    ),
  );
}

/** The settings that differ between the runs, a row each (a schedule's differences are
 * one row: each run's schedule in words, the differing paths in its tooltip). */
export function settingsDiff(info, runs) {
  const inSchedule = Object.keys(info.diff).filter((p) => p.startsWith("schedule."));
  const diffRows = Object.entries(info.diff).filter(([p]) => !p.startsWith("schedule."));
  if (inSchedule.length) {
    diffRows.push(["schedule", runs.map((r) => scheduleText(r.model.schedule)), `${inSchedule.length} schedule fields differ: ${inSchedule.join(", ")}`]);
  }
  return diffRows.length
    ? h(
        "details.cv-diff#compare-diff",
        { open: true },
        h("summary", `What differs between these runs (${diffRows.length} setting${diffRows.length > 1 ? "s" : ""})`),
        h(
          "div.cv-table-scroll",
          h(
            "table.cv-table",
            h("thead", h("tr", h("th", "Setting"), runs.map((r) => h("th", h("span.swatch", { style: { background: r.color } }), r.name)))),
            h(
              "tbody",
              diffRows.map(([path, values, tip]) =>
                h("tr", h("th", { scope: "row", title: tip || null, dataset: { path } }, h("code", path)), values.map((v) => h("td", typeof v === "string" && path === "schedule" ? v : valueText(v)))),
              ),
            ),
          ),
        ),
      )
    : h("p.muted#compare-diff", "These runs have the same settings (apart from their names).");
}

/** The seed groups: runs that differ only in their seed, drawn as one line and a band. */
export function seedGroupsList(groups, runs) {
  return h(
    "ul.cv-groups#seed-groups",
    groups.map((ids) => {
      const members = ids.map((id) => runs.find((r) => r.id === id));
      return h(
        "li",
        h("span.swatch", { style: { background: members[0].color } }),
        h("b", `Seed group “${members[0].groupName}”`),
        `: ${members.map((r) => r.name).join(", ")} (seeds ${members.map((r) => r.model.config?.seed).join(", ")}) — drawn as one thick line in ${members[0].name}'s colour, the shade spans their lowest to highest value`,
      );
    }),
  );
}

/** A seed group's name: its first run's, without the seed. */
export function seedGroupName(info, group) {
  // A sweep's run "sw [schedule=tiny, seed=1]" -> "sw [schedule=tiny]"; other names as they are.
  const first = info.runs.find((r) => r.id === group[0]);
  const name = first?.name || "seed group";
  return name.replace(/(,\s*)?\bseed=\d+(,\s*)?/, (m, a, b) => (a && b ? ", " : "")).replace(/\s*\[\]$/, "");
}

/** "ascent 40 → recovery 100": a schedule in a few words (comparison.schedule_text). */
function scheduleText(schedule) {
  return (schedule || []).map((p) => `${p.kind} ${p.steps}`).join(" → ") || "–";
}

function valueText(v) {
  if (v === null || v === undefined) return "–";
  if (typeof v === "object") return JSON.stringify(v);
  return String(v);
}
