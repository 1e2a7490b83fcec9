// The compare view's fixed parts: the legend of runs, the table of the settings that
// differ, the seed groups.

import { h } from "../core/dom.js";
import { planText, statusBadgeClass, statusLabel } from "../core/format.js";
import { verdictChip } from "../core/verdict.js";

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
          verdictChip(r.model.run?.verdict),
        ),
        h("div.muted.cv-differs", r.label),
        // the schedule it followed (edits included) and the steps each phase took (run.plan)
        h("div.muted.cv-plan", { title: "the schedule in force, with the steps each phase that ended took" }, `as run: ${planText(r.model.run?.plan)}`),
      ),
    ),
  );
}

/** The settings that differ between the runs, a row each: the API's diff_rows
 * (comparison.diff_rows, over the schedules in force: every phase setting counts, a
 * schedule of other kinds is one row in words). */
export function settingsDiff(info, runs) {
  const byId = new Map(info.runs.map((r, i) => [r.id, i]));
  const diffRows = (info.diff_rows || []).map((row) => [row.name, runs.map((r) => row.values[byId.get(r.id)]), row.path]);
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
              diffRows.map(([name, values, path]) =>
                h("tr", h("th", { scope: "row", title: path, dataset: { path } }, h("code", name)), values.map((v) => h("td", v ?? "–"))),
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

