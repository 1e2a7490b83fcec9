// The compare view with one id: pick the runs to compare it with (runs on the same data
// and model first), then go to #/compare/ID,ID,...

import { h, fill } from "../core/dom.js";
import { statusBadgeClass, statusLabel } from "../core/format.js";
import { MAX_COMPARE, compareHash } from "./hash.js";

/** Fill `root` with the picker for run `first` (the run list gives the candidates). */
export function renderPicker(root, first, runList) {
  const runs = [...(runList?.runs.values() || [])].sort((a, b) => (a.created_at < b.created_at ? 1 : -1));
  const me = runs.find((r) => r.id === first);
  const same = (r) => me && r.config?.data?.name === me.config?.data?.name && r.config?.model?.name === me.config?.model?.name;
  const others = runs.filter((r) => r.id !== first).sort((a, b) => Number(same(b)) - Number(same(a)));
  const chosen = new Set();
  const go = h("button.primary#compare-picked", { type: "button", disabled: true, onclick: () => (location.hash = compareHash([first, ...chosen])) }, "Compare");
  fill(
    root,
    h(
      "section.card.cv-picker",
      h("h2", `Compare “${me?.name || first}” with…`),
      h("p.muted", `Tick up to ${MAX_COMPARE - 1} runs. Runs on the same data and model come first.`),
      h(
        "ul.cv-pick-list",
        others.map((r) =>
          h(
            "li",
            h(
              "label",
              h("input", {
                type: "checkbox",
                value: r.id,
                onchange: (e) => {
                  if (e.target.checked) chosen.add(r.id);
                  else chosen.delete(r.id);
                  go.disabled = chosen.size < 1 || chosen.size > MAX_COMPARE - 1;
                },
              }),
              ` ${r.name} `,
              h("span", { class: statusBadgeClass(r.status) }, statusLabel(r.status)),
              h("span.muted", ` ${r.config?.data?.name} · ${r.config?.model?.name}`),
            ),
          ),
        ),
      ),
      others.length ? go : h("p", "There are no other runs yet. ", h("a", { href: "#/new" }, "Start one.")),
    ),
  );
}
