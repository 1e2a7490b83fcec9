// The run's story in one strip at the top of the run page, for someone who has never
// heard of backdoors: what the trigger is (a clean probe image, the same image with the
// trigger, the trigger itself, and one plain sentence), whether the backdoor was removed
// (the API's verdict) and how we know (the count of probes the backdoor fires on, before
// and now). It sits in the header, so at 1440x900 all of it is above the fold.

import { h, fill } from "../core/dom.js";
import { className } from "../core/format.js";
import { probeImage } from "./heatmaps/cells.js";
import { changePicture, cropPatch, pixelImage, triggerWords } from "./trigger.js";

const PX = 112; // each picture's width on screen

export class StoryStrip {
  /** verdict: the header's verdict element (it fills it); attackLabel: the attack's name. */
  constructor(model, { verdict, attackLabel }) {
    this.model = model;
    this.attackLabel = attackLabel;
    this.key = "";
    this.pics = h("div.story-pics#trigger-pictures", { role: "group", "aria-label": "The trigger" });
    this.caption = h("p.story-caption#trigger-caption");
    this.firesSlot = h("div.story-fires");
    this.pending = h("p.story-pending.muted");
    this.el = h(
      "section.story#story",
      { "aria-label": "What happened, in short" },
      this.pics,
      h("div.story-text", this.caption, verdict, this.pending, this.firesSlot),
    );
  }

  /** The backdoor-fires line (heatmaps/tools.js keeps it up to date) moves in here. */
  adoptFires(line) {
    this.firesSlot.append(line);
  }

  draw() {
    const m = this.model;
    this.pending.textContent = m.run?.verdict || !m.started
      ? ""
      : m.active
        ? "The verdict comes when the run ends; the numbers below follow it live."
        : "";
    const key = [Boolean(m.probes), m.probes?.images?.length, m.found?.step, m.frames.has(0), m.classes?.length, m.targetClass].join("|");
    if (key === this.key) return;
    this.key = key;
    this.drawPictures();
  }

  /** The first probe whose true class is not the target: the backdoor can fire on it. */
  probe() {
    const labels = this.model.probes?.labels || [];
    const p = labels.findIndex((label) => label !== this.model.targetClass);
    return p >= 0 ? p : labels.length ? 0 : -1;
  }

  drawPictures() {
    const m = this.model;
    const p = this.probe();
    if (p < 0) {
      fill(this.pics);
      this.caption.textContent = m.started ? "" : "The trigger is shown here once the run has chosen its probe images.";
      return;
    }
    const size = m.probes.size;
    const clean = probeImage(m.probes, p, 0);
    const triggered = probeImage(m.probes, p, 1);
    const source = m.found ? "recovered" : m.started?.trigger_source || "attack";
    const box = source === "attack" ? m.started?.trigger_box || null : null;
    const change = source === "unknown" ? null : changePicture(clean, triggered);
    const words = triggerWords({
      source,
      box,
      target: className(m.classes, m.targetClass),
      attack: this.attackLabel || m.config?.attack?.kind || "its attack",
      change,
      recoveredBy: m.found?.source || "",
    });
    this.caption.textContent = words.text;
    const answers = m.frames.get(0)?.preds?.[p]; // the backdoored model's [clean, triggered]
    const says = (v) => {
      const pred = answers?.[v];
      if (pred === undefined || pred === null) return null;
      const hit = v === 1 && pred === m.targetClass && m.probes.labels[p] !== m.targetClass;
      return h(`span.story-says${hit ? ".fires" : ""}`, `backdoored model: “${className(m.classes, pred)}”`);
    };
    const figure = (img, text, answer, id) => h(`figure.story-fig${id ? `#${id}` : ""}`, img, h("figcaption", text, answer ? h("br") : null, answer));
    const figs = [
      figure(pixelImage(clean, size, size, { alt: "a clean test image", px: PX }), `a clean image (${className(m.classes, m.probes.labels[p])})`, says(0)),
    ];
    if (source !== "unknown") {
      figs.push(figure(pixelImage(triggered, size, size, { alt: "the same image with the trigger", id: "triggered-image", px: PX }), "the same image with the trigger", says(1)));
      if (box) {
        const patch = cropPatch(triggered, size, box, 1);
        figs.push(figure(pixelImage(patch.rgb, patch.width, patch.height, { alt: "the trigger, enlarged", id: "trigger-image", px: PX }), words.third, null, "trigger-fig"));
      } else {
        figs.push(figure(pixelImage(change.rgb, size, size, { alt: words.third, id: "trigger-image", px: PX }), words.third, null, "trigger-fig"));
      }
    }
    fill(this.pics, figs);
  }
}
