// The heatmap grid's toolbar: which step "now" is, how the maps are drawn, the legends,
// and the at-a-glance count of probes the backdoor fires on, before and now (the run view
// shows that line in the header's story strip, above the fold; the grid keeps it current).

import { viridisGradient } from "./colormap.js";
import { h, fill } from "../../core/dom.js";
import { changeGradient, hotGradient } from "./draw.js";

export const VIEWS = [
  ["spots", "Hot spots on the image"],
  ["heatmap", "Grad-CAM only"],
  ["blend", "Image + Grad-CAM blend"],
  ["image", "Image only"],
];

export class GridToolbar {
  constructor({ onChange }) {
    this.onChange = onChange;
    this.view = "spots";
    this.alpha = 0.5;
    this.select = h(
      "select#grid-view",
      { "aria-label": "How the heatmaps are drawn", onchange: (e) => this.setView(e.target.value) },
      VIEWS.map(([value, text]) => h("option", { value }, text)),
    );
    this.opacity = h("input#grid-alpha", {
      type: "range", min: "0.1", max: "0.9", step: "0.05", value: String(this.alpha),
      "aria-label": "Heatmap opacity",
      oninput: (e) => {
        this.alpha = Number(e.target.value);
        this.onChange();
      },
    });
    this.opacityLabel = h("label.inline", "Opacity ", this.opacity);
    this.stepLabel = h("span.grid-step");
    this.firesLine = h("p.fires-line#fires-count", { role: "status" });
    this.stepWords = null; // step -> which model it is ("after the defence"), when set
    this.regionSwatch = h("span.legend-box");
    this.regionText = h("span.muted", "trigger");
    this.regionLegend = h("span.legend-item#region-legend", this.regionSwatch, this.regionText);
    this.ramp = h("span.legend-ramp");
    this.rampText = h("span.muted");
    this.el = h(
      "div.grid-tools",
      this.firesLine,
      h(
        "div.panel-tools",
        this.stepLabel,
        h("label.inline", "Show ", this.select),
        this.opacityLabel,
        h(
          "span.legend#heat-legend",
          h("span.legend-item", this.ramp, this.rampText),
          h("span.legend-item", h("span.legend-ramp.wide", { style: { background: changeGradient() } }), h("span.muted", "change: attention left ← → attention arrived")),
          this.regionLegend,
        ),
      ),
    );
    this.setView(this.view);
  }

  setView(view) {
    this.view = view;
    this.select.value = view;
    this.opacityLabel.hidden = view !== "blend";
    const spots = view === "spots";
    this.ramp.style.background = spots ? hotGradient() : viridisGradient();
    this.rampText.textContent = view === "image" ? "maps hidden (change still shown)" : spots ? "attention: weak (clear) → strong" : "attention: low → high";
    this.onChange();
  }

  /**
   * Say what the outline is. box: the trigger is a patch (a rectangle); else `region` is
   * the run's region rule (RunStarted.trigger_region), drawn as a contour.
   */
  setRegion(box, region) {
    const contour = !box && Boolean(region);
    this.regionSwatch.className = contour ? "legend-box contour" : "legend-box";
    this.regionText.textContent = contour
      ? "trigger region: the pixels the trigger changed most (where TAR looks)"
      : "trigger";
    this.regionLegend.title = region ? `Trigger region: ${region}` : "";
  }

  setStep(text) {
    this.stepLabel.textContent = text;
  }

  /** "Backdoor fires on 8/8 triggered probes before unlearning → 0/8 at step 158 (after the
   * defence)"; past a closing attack also the defended model's count, from the newest
   * frame at or before the defence's end: "→ 0/8 at step 155 (the defence's last
   * heatmaps) → 6/8 at step 300 (after the retuning attack)". */
  setFires({ before, now, of, step, defended = null }) {
    if (!of) {
      fill(this.firesLine);
      return;
    }
    const part = (n) => (n === null ? "?" : `${n}/${of}`);
    const gone = before && now === 0;
    this.firesLine.className = `fires-line${gone ? " gone" : now ? " firing" : ""}`;
    this.firesLine.dataset.before = String(before ?? "");
    this.firesLine.dataset.now = String(now ?? "");
    this.firesLine.dataset.defended = String(defended?.now ?? "");
    fill(
      this.firesLine,
      "Backdoor fires on ",
      h(`b.fires-before${before ? ".on" : ""}`, part(before)),
      " triggered probes before unlearning → ",
      defended
        ? [
            h("b.fires-defended", part(defended.now)),
            ` at step ${defended.step} (the defence's last heatmaps)`,
            " → ",
          ]
        : "",
      h("b.fires-now", part(now)),
      ` at step ${step}`,
      this.stepWords && step > 0 ? ` (${this.stepWords(step)})` : "",
      gone ? h("span.fires-note", " · the trigger no longer works on any probe") : "",
      defended?.now === 0 && now > 0 ? h("span.fires-note", " · the defence had removed it; the attack on the defended model brought it back") : "",
      before === 0 ? h("span.fires-note", " · the backdoor did not fire on these probes even before unlearning") : "",
    );
  }
}
