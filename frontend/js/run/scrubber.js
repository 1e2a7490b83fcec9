// The step slider: scrub back through a run's history (charts get a cursor, the grid
// shows that step's heatmaps); "Live" returns to following the run; "Replay" plays a
// run's history from the slider's position.

import { h, perFrame } from "../core/dom.js";

const REPLAY_SECONDS = 12; // a whole replay, whatever the run's length

export class Scrubber {
  constructor(root, model, { onSeek }) {
    this.model = model;
    this.onSeek = onSeek;
    this.live = true; // follow the newest step
    this.shown = 0; // the step shown when not live
    this.timer = 0;
    this.slider = h("input#step-slider", {
      type: "range",
      min: "0",
      max: "0",
      step: "1",
      value: "0",
      "aria-label": "Step shown",
      oninput: () => this.seek(Number(this.slider.value)),
    });
    this.liveButton = h("button.toggle#live-toggle", { type: "button", "aria-pressed": "true", onclick: () => this.follow() }, "Live");
    this.playButton = h("button.ghost.small#replay", { type: "button", onclick: () => this.togglePlay() }, "▶ Replay");
    this.label = h("span.scrub-label#step-label", { "aria-live": "off" });
    root.append(this.liveButton, this.playButton, this.slider, this.label);
    this.update = perFrame(() => this.render());
    this.unsubscribe = model.subscribe((e) => {
      if (e.type === "step" || e.type === "frames" || e.type === "status" || e.type === "run_row") this.update();
    });
    this.render();
  }

  destroy() {
    this.stopPlay();
    this.unsubscribe();
  }

  max() {
    const m = this.model;
    const lastFrame = m.frameSteps.length ? m.frameSteps[m.frameSteps.length - 1] : 0;
    return Math.max(m.lastStep, lastFrame);
  }

  /** Show `step` (the user moved the slider). */
  seek(step) {
    this.live = false;
    this.shown = step;
    this.onSeek(step);
    this.render();
  }

  follow() {
    this.stopPlay();
    this.live = true;
    this.onSeek(null);
    this.render();
  }

  togglePlay() {
    if (this.timer) {
      this.stopPlay();
      return;
    }
    const max = this.max();
    if (!max) return;
    let step = this.live || this.shown >= max ? 0 : this.shown;
    const perTick = Math.max(1, Math.round(max / (REPLAY_SECONDS * 10)));
    this.seek(step);
    this.timer = setInterval(() => {
      step = Math.min(this.max(), step + perTick);
      this.seek(step);
      if (step >= this.max()) this.stopPlay();
    }, 100);
    this.render();
  }

  /** The connection dropped (true) or came back (false): "Live" is not live meanwhile. */
  setStale(stale) {
    this.stale = stale;
    this.liveButton.classList.toggle("stale", stale);
    this.render();
  }

  stopPlay() {
    clearInterval(this.timer);
    this.timer = 0;
    this.render();
  }

  render() {
    const max = this.max();
    const m = this.model;
    this.slider.max = String(max);
    this.slider.disabled = max === 0;
    this.slider.value = String(this.live ? max : this.shown);
    this.liveButton.setAttribute("aria-pressed", String(this.live));
    this.liveButton.textContent = m.active ? "Live" : "Latest";
    this.liveButton.title = m.active ? "Follow the run as it goes" : "Show the last step";
    this.playButton.textContent = this.timer ? "❚❚ Pause replay" : "▶ Replay";
    this.playButton.disabled = max === 0;
    const shown = this.live ? max : this.shown;
    const where = this.live
      ? this.stale
        ? "waiting for the connection"
        : m.active
          ? "following the run"
          : "last step"
      : "history";
    this.label.textContent = max ? `Step ${shown} of ${max} · ${where}` : "No steps yet";
    this.label.dataset.step = String(shown);
  }
}
