// The compare view's slider: one position shown in every run ("Latest" follows each run's
// end), labelled with the step it shows in each.

import { h } from "../core/dom.js";

export class CompareSlider {
  /** view: the CompareView (its seek, xMode, sliderX, xMax, stepOf, positionText, runs). */
  constructor(view) {
    this.view = view;
    this.input = h("input#compare-slider", { type: "range", min: "0", max: "0", step: "1", value: "0", "aria-label": "Position shown in every run", oninput: () => view.seek(Number(this.input.value)) });
    this.label = h("span.scrub-label#compare-step-label");
    this.endButton = h("button.toggle#compare-end", { type: "button", "aria-pressed": "true", onclick: () => view.seek(null) }, "Latest");
    this.el = h("div.scrub-bar.cv-scrub", { role: "group", "aria-label": "Position shown" }, this.endButton, this.input, this.label);
  }

  render() {
    const view = this.view;
    const max = view.xMax();
    this.input.step = view.xMode !== "step" ? String(max / 1000) : "1";
    this.input.max = String(max);
    this.input.value = String(view.sliderX === null ? max : view.sliderX);
    this.endButton.setAttribute("aria-pressed", String(view.sliderX === null));
    const steps = view.runs.map((r) => view.stepOf(r));
    const where = view.sliderX === null ? "Latest" : view.positionText().replace(/^./, (c) => c.toUpperCase());
    const same = steps.every((s) => s === steps[0]);
    const stepSlider = view.sliderX !== null && view.xMode === "step"; // "Step 40" says it already
    this.label.textContent = same
      ? stepSlider ? `${where} in every run` : `${where} · step ${steps[0]} in every run`
      : `${where} · steps shown: ${steps.join(", ")}`;
    this.label.dataset.steps = steps.join(",");
  }
}
