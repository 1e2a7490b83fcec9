// The sample inspector: one test image under the run's model (live between two steps, or
// the saved final model): clean and triggered image, class probabilities, Grad-CAM for
// the predicted, true and target class, TAR, and the TAR history of a probe sample.

/* global Plotly */

import { api } from "../core/api.js";
import { h, fill } from "../core/dom.js";
import { drawOverlay } from "./heatmaps/draw.js";
import { className, fixed, num } from "../core/format.js";

const VARIANTS = ["clean", "triggered"];
const CHOICES = [
  ["predicted", "Grad-CAM: predicted"],
  ["true", "Grad-CAM: true class"],
  ["target", "Grad-CAM: target"],
];

export class Inspector {
  constructor(host, model) {
    this.model = model;
    this.index = h("input#inspect-index", { type: "number", min: "0", step: "1", inputmode: "numeric", "aria-describedby": "inspect-error" });
    this.error = h("div.field-error#inspect-error", { role: "alert" });
    this.body = h("div.inspector-body#inspector-body");
    this.el = h(
      "aside.drawer#inspector",
      { role: "dialog", "aria-label": "Sample inspector", hidden: true },
      h(
        "header.drawer-head",
        h("h3", "Sample inspector"),
        h("button.icon", { type: "button", "aria-label": "Close the inspector", title: "Close (Esc)", onclick: () => this.close() }, "✕"),
      ),
      h(
        "form.inspect-form",
        { novalidate: true, onsubmit: (e) => { e.preventDefault(); this.load(Number(this.index.value)); } },
        h("label", { for: "inspect-index" }, "Test index"),
        this.index,
        h("button.primary.small", { type: "submit" }, "Inspect"),
        this.error,
      ),
      this.body,
    );
    this.onKey = (e) => {
      if (e.key === "Escape" && !this.el.hidden) this.close();
    };
    document.addEventListener("keydown", this.onKey);
    host.append(this.el);
  }

  destroy() {
    document.removeEventListener("keydown", this.onKey);
    if (this.tarPlot) Plotly.purge(this.tarPlot);
    this.el.remove();
  }

  open(index = null) {
    this.el.hidden = false;
    const size = this.model.config?.data?.test_size;
    if (size) this.index.max = String(size - 1);
    if (index === null) {
      if (!this.body.childElementCount) {
        fill(this.body, h("p.muted", "Type the index of a test image, or click a heatmap in the grid, to see what the model makes of it."));
      }
      this.index.focus();
      return;
    }
    this.index.value = String(index);
    this.load(index);
  }

  close() {
    this.el.hidden = true;
  }

  async load(index) {
    this.error.textContent = "";
    const size = this.model.config?.data?.test_size;
    if (!Number.isInteger(index) || index < 0) {
      this.error.textContent = "Enter a whole number, 0 or more.";
      return;
    }
    if (size && index >= size) {
      this.error.textContent = `This run's test split has ${size} images: enter an index from 0 to ${size - 1}.`;
      return;
    }
    const token = (this.token = Symbol("request"));
    fill(this.body, h("p.loading", `Asking the model about test sample ${index}…`));
    try {
      const report = await api.sample(this.model.id, index);
      if (token === this.token) this.show(report);
    } catch (err) {
      if (token !== this.token) return;
      if (err.status === 422) {
        this.error.textContent = err.detail;
        fill(this.body);
      } else {
        const hint = err.status === 409 ? " Try again once the run is running." : err.status === 504 ? " Try again." : "";
        fill(this.body, h("p.error-text", `${err.detail}${hint}`));
      }
    }
  }

  show(r) {
    const m = this.model;
    const classes = m.classes;
    const size = r.size;
    const n = size * size * 3;
    const images = [r.images.subarray(0, n), r.images.subarray(n, 2 * n)];
    const box = m.started?.trigger_box || null;
    // Without a box (a trigger that is no patch), the triggered image's own region, outlined.
    const region = !box && r.region?.length === size * size ? r.region : null;
    const preds = r.probs.map((p) => argmax(p));
    const canvas = (image, heat, withBox, triggered = false) => {
      const c = h("canvas.heat-canvas");
      drawOverlay(c, {
        image, heat, size, box: withBox ? box : null,
        region: withBox && triggered ? region : null,
        view: heat ? "overlay" : "image",
      });
      return c;
    };
    // an unknown trigger has no target: its "target" maps explain the predicted class
    const unknown = r.target_class === null || r.target_class === undefined;
    const cls = (choice, i) => (choice === "predicted" || (choice === "target" && unknown) ? preds[i] : choice === "true" ? r.label : r.target_class);
    const grid = h(
      "div.inspect-grid",
      h("div"),
      h("div.col-head", "Image"),
      CHOICES.map(([, title]) => h("div.col-head", title)),
      VARIANTS.map((v, i) => [
        h(
          "div.row-head",
          h("div", v),
          h("div.muted", "predicted"),
          h("b", className(classes, preds[i])),
          h("div", `${Math.round(num(r.probs[i][preds[i]]) * 100)}%`),
        ),
        h("figure.inspect-cell", canvas(images[i], null, false), h("figcaption.muted", v === "triggered" ? (unknown ? "trigger unknown: as it is" : m.found ? "recovered trigger stamped" : "trigger stamped") : "as in the test set")),
        CHOICES.map(([choice]) => {
          const heat = r.maps?.[v]?.[choice];
          return h(
            "figure.inspect-cell",
            { dataset: { variant: v, choice } },
            heat ? canvas(images[i], heat, true, v === "triggered") : h("div.muted", "n/a"),
            h("figcaption", className(classes, cls(choice, i))),
          );
        }),
      ]),
    );
    const source = r.source === "saved" ? "the saved final model" : "the live model";
    const probe = m.probes ? m.probes.indices.indexOf(r.index) : -1;
    const tarText = unknown
      ? "TAR n/a: the trigger is unknown (a phase that recovers one makes it measurable)"
      : r.tar === null || r.tar === undefined
      ? "TAR n/a (this attack has no local trigger)"
      : `TAR of the triggered image: ${fixed(r.tar, 2)} — ${num(r.tar) > 1 ? "attention concentrates on the trigger" : "attention is mostly elsewhere"}.`;
    this.tarPlot = probe >= 0 ? h("div.tar-history#tar-history") : null;
    fill(
      this.body,
      h(
        "p.inspect-summary",
        h("b", `Test sample #${r.index}`),
        ` · true class ${className(classes, r.label)} · target ${unknown ? "unknown" : className(classes, r.target_class)}${m.found ? " (recovered)" : ""} · ${source} at step ${r.step}`,
      ),
      grid,
      h("h4", "Class probabilities"),
      h("div.prob-cols", VARIANTS.map((v, i) => h("div", h("div.col-head", v), bars(r.probs[i], classes, r.label, r.target_class, preds[i])))),
      h("h4", "Trigger Attention Ratio"),
      h("p.tar-text", tarText),
      this.tarPlot ? [h("p.muted", `Probe sample ${probe + 1}: TAR of its triggered image at every heatmap step.`), this.tarPlot] : h("p.muted", "Not a probe sample, so there is no TAR history; the probe samples are the ones in the heatmap grid."),
    );
    if (this.tarPlot) this.plotHistory(probe);
  }

  plotHistory(probe) {
    const { steps, tars } = this.model.probeTarHistory(probe);
    Plotly.newPlot(
      this.tarPlot,
      [{ x: steps, y: tars, type: "scatter", mode: "lines+markers", marker: { size: 4 }, line: { color: "#009E73", width: 2 }, name: "TAR", hovertemplate: "step %{x}: TAR %{y:.3f}<extra></extra>" }],
      {
        height: 180,
        margin: { l: 44, r: 12, t: 8, b: 36 },
        xaxis: { title: { text: "step", standoff: 2 }, gridcolor: "#eef1f4" },
        yaxis: { title: { text: "TAR" }, rangemode: "tozero", gridcolor: "#eef1f4" },
        shapes: [{ type: "line", xref: "paper", x0: 0, x1: 1, y0: 1, y1: 1, line: { color: "#7b8794", dash: "dot", width: 1 } }],
        font: { size: 11 },
      },
      { displayModeBar: false, responsive: true },
    );
  }
}

function argmax(values) {
  let best = 0;
  values.forEach((v, i) => {
    if (num(v) > num(values[best])) best = i;
  });
  return best;
}

function bars(probs, classes, label, target, pred) {
  return h(
    "ul.prob-bars",
    probs.map((p, k) => {
      const pct = num(p) * 100;
      const tags = [k === label ? "true" : null, k === target ? "target" : null].filter(Boolean);
      return h(
        `li${k === pred ? ".pred" : ""}`,
        h("span.prob-name", className(classes, k), tags.map((t) => h(`span.tag.tag-${t}`, t))),
        h("span.prob-track", h("span.prob-fill", { style: { width: `${Math.max(0, Math.min(100, pct))}%` } })),
        h("span.prob-value", `${pct.toFixed(1)}%`),
      );
    }),
  );
}
