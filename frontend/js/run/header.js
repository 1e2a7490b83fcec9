// The run header: name, status, phase, step and progress, the story strip (the trigger,
// the verdict, the backdoor-fires count: story.js), elapsed time, steps/s, device, the
// state-aware Pause/Resume and Stop buttons, Export, and the before -> now numbers (of the
// model the verdict judges, the defended one; a closing attack's numbers apart).

import { phaseKind } from "../core/vocab.js";
import { findTwin, startTwin } from "./oracle.js";
import { api } from "../core/api.js";
import { h, fill, perFrame } from "../core/dom.js";
import { statusLabel, duration, fixed, num, percent, setupText, statusBadgeClass } from "../core/format.js";
import { Presenter, presentRequested } from "./present.js";
import { verdictLine } from "../core/verdict.js";
import { defendedStep, modelAt, stageContext } from "./stage.js";
import { StoryStrip } from "./story.js";

const CONNECTION = {
  connecting: ["conn-wait", "Connecting…"],
  history: ["conn-wait", "Loading history…"],
  live: ["conn-live", "Live"],
  reconnecting: ["conn-lost", "Reconnecting…"],
  ended: ["conn-ended", "Recorded run"],
  gone: ["conn-lost", "Deleted"],
};

export class RunHeader {
  constructor(root, model, { onInspect, attackLabel = "" }) {
    this.model = model;
    this.connection = "connecting";
    this.cursor = null;
    this.stopArmed = 0;
    this.title = h("h2.run-name");
    this.badge = h("span");
    this.conn = h("span.conn#connection", { role: "status" });
    this.pause = h("button.secondary#pause-button", { type: "button", onclick: () => this.togglePause() }, "Pause");
    this.stop = h("button.danger#stop-button", { type: "button", onclick: () => this.stopClicked() }, "Stop");
    this.exportLink = h("a.button.ghost#export-link", { href: api.exportUrl(model.id), download: "" }, "Export zip");
    this.reportLink = h("a.button.ghost#report-link", { href: `/api/runs/${encodeURIComponent(model.id)}/report.html`, download: "", title: "One HTML file that opens anywhere, with no network and no server" }, "Report");
    this.clipLink = h("a.button.ghost#clip-link", { href: `/api/runs/${encodeURIComponent(model.id)}/clip.gif`, download: "", title: "The heatmaps over the run as an animated GIF, for slides" }, "Clip");
    this.presentButton = h("button.ghost#present-button", { type: "button", onclick: () => Presenter.open(model, { fullscreen: true }), title: "Full-screen layout for a projector (Esc leaves it)" }, "Present");
    this.again = h("a.button.ghost", { href: `#/new?from=${encodeURIComponent(model.id)}`, title: "Open the form with this run's settings" }, "Run again…");
    this.inspect = h("button.ghost#inspect-button", { type: "button", onclick: () => onInspect(null) }, "Inspect a sample");
    this.facts = h("dl.facts");
    this.progress = h("div.progress", h("div.progress-fill"));
    this.message = h("p.run-message", { role: "status" });
    this.kpis = h("div.kpis");
    this.forget = h("p.forget-note#forget-note");
    this.verdict = h("div.run-verdict"); // the API's verdict once the run finished
    this.story = new StoryStrip(model, { verdict: this.verdict, attackLabel });
    root.append(
      h(
        "div.run-title",
        h("div.title-left", this.title, this.badge, this.conn),
        h("div.actions", this.pause, this.stop, this.inspect, this.presentButton, this.reportLink, this.clipLink, this.exportLink, this.again),
      ),
      this.progress,
      this.story.el,
      h("div.run-stats", this.kpis, this.facts),
      this.forget,
      this.message,
    );
    this.render = perFrame(() => this.draw());
    this.unsubscribe = model.subscribe((e) => {
      // a frame only for step 0: the story's captions say what the backdoored model answered
      if (e.type !== "frames" || e.step === 0) this.render();
    });
    this.ticker = setInterval(() => this.connection === "live" && model.active && this.render(), 1000);
    this.draw();
    if (presentRequested()) Presenter.open(model);
  }

  destroy() {
    clearInterval(this.ticker);
    this.unsubscribe();
  }

  setConnection(state, info = {}) {
    this.connection = state;
    this.connInfo = info;
    this.render();
  }

  setCursor(step) {
    this.cursor = step;
    this.render();
  }

  draw() {
    const m = this.model;
    const stale = this.connection === "reconnecting";
    this.title.textContent = m.name;
    this.title.title = `run ${m.id}`;
    this.badge.className = statusBadgeClass(m.status);
    this.badge.id = "run-status";
    this.badge.textContent = statusLabel(m.status) + (stale ? " (last known)" : "");
    const [cls, text] = CONNECTION[this.connection] || CONNECTION.connecting;
    this.conn.className = `conn ${cls}`;
    this.conn.textContent = text;
    this.drawButtons();
    this.drawFacts(stale);
    this.drawMessage();
    fill(this.verdict, verdictLine(m.run?.verdict, "run-verdict"));
    this.story.draw();
    this.drawKpis();
    this.lookForTwin();
    fill(this.forget, forgetNote(m, this.twin, () => this.runTwin()));
  }

  drawButtons() {
    const s = this.model.status;
    const paused = s === "paused";
    this.pause.textContent = this.pending === "pause" ? "Pausing…" : this.pending === "resume" ? "Resuming…" : paused ? "Resume" : "Pause";
    this.pause.disabled = Boolean(this.pending) || !["preparing", "running", "paused"].includes(s);
    this.pause.hidden = !this.model.active && s !== "queued";
    this.stop.hidden = !this.model.active;
    this.clipLink.hidden = !this.model.frameSteps.length;
    this.stop.disabled = this.pending === "stop";
    this.stop.textContent = this.pending === "stop" ? "Stopping…" : this.stopArmed ? "Confirm stop" : "Stop";
    // A model exists once preparation is done (RunStarted); a run that failed before has none.
    this.inspect.disabled = !this.model.started || ["queued", "preparing"].includes(s);
    this.inspect.title = this.inspect.disabled
      ? "There is a model to inspect once preparation is done"
      : "Open a test image under the model";
  }

  drawFacts(stale) {
    const m = this.model;
    const phase = m.schedule[m.phaseIndex];
    const phaseText = !m.phases.length
      ? "not started"
      : m.phaseIndex >= m.schedule.length
        ? "all done"
        : `${m.phaseIndex + 1} of ${m.schedule.length} · ${phase?.kind}`;
    const planned = m.plannedTotal();
    const prep = m.status === "preparing" && m.progress;
    // While preparing, the bar shows the current preparation stage; then the steps.
    const fraction = prep
      ? prepFraction(m.progress)
      : m.status === "completed" ? 1 : Math.min(1, m.step / Math.max(1, planned));
    this.progress.firstChild.style.width = `${(fraction * 100).toFixed(1)}%`;
    this.progress.classList.toggle("stale", stale);
    this.progress.classList.toggle("preparing", Boolean(prep));
    this.progress.title = prep ? `preparation: ${m.progress.stage.replace("_", " ")} ${m.progress.done}/${m.progress.total}` : `step ${m.step} of ${planned}`;
    const rate = m.rate();
    const cfg = m.config || {};
    const facts = [
      ["Phase", phaseText, "run-phase"],
      ["Step", stepText(m, planned), "run-step"],
      ["Elapsed", duration(m.elapsed(this.connection === "live")), "run-elapsed"],
      ["Speed", rate && m.steps.length > 1 ? `${rate.toFixed(2)} steps/s${m.status === "running" ? "" : " (last)"}` : "–", "run-rate"],
      ["Device", m.device || "–", "run-device"],
      ["Setup", setupText(cfg), "run-setup"],
    ];
    fill(this.facts, facts.map(([k, v, id]) => h("div.fact", h("dt", k), h(`dd#${id}`, v))));
  }

  drawMessage() {
    const m = this.model;
    let text = "";
    let cls = "run-message";
    if (this.controlError) {
      text = this.controlError;
      cls += " error-text";
    } else if (m.status === "queued") {
      const pos = m.run.queue_position;
      text = `Queued${pos ? ` (place ${pos})` : ""}: it starts when a worker slot is free (the server runs a limited number of runs at once).`;
    } else if (m.status === "preparing") {
      text = preparingText(m.progress);
    } else if (m.status === "failed") {
      const why = String(m.error || m.message || "no reason given").replace(/\.+$/, "");
      text = `Failed: ${why}. Check the settings (data folder, sizes) and use “Run again…” to start a corrected copy.`;
      cls += " error-text";
    } else if (m.status === "interrupted") {
      text = `${m.message || "The server stopped while this run was active."} The history up to then is kept.`;
    } else if (m.status === "paused") {
      text = "Paused between two steps. Resume to go on; you can edit the schedule or inspect samples meanwhile.";
    } else if (m.finished) {
      text = `Finished in ${duration(m.finished.wall_time)}.`;
    } else if (m.status === "stopped") {
      text = `Stopped at step ${m.step}; the model up to then is saved.`;
    }
    this.message.className = cls;
    this.message.textContent = text;
  }

  /**
   * Before (full test set) -> the newest measurement at the cursor (or the final one), of
   * the model the verdict judges: past the end of the defence, when attack phases close the
   * schedule (relearn, qra), "now" stays the defended model and what the attack did is a
   * line of its own ("after the retuning attack: 31.1%").
   */
  drawKpis() {
    const m = this.model;
    const before = m.before();
    if (!before) {
      fill(this.kpis);
      return;
    }
    const step = this.cursor ?? Math.max(m.lastStep, m.step);
    const ctx = stageContext(m);
    const defended = defendedStep(m.schedule, m.phases, ctx.isAttack);
    const shown = defended !== null && step > defended ? defended : step; // the defended model's step
    const attackLine = (key, fmt) => {
      if (shown === step) return null;
      const after = attackedValue(m, step, key, defended, ctx);
      return after ? h("div.kpi-attack", { title: after.tip }, `${after.label}: `, h("b", fmt(after.value))) : null;
    };
    const kpi = (id, name, key, fmt, explain, judge = () => null, tip = "") => {
      if (key !== "ca" && m.triggerUnknown) {
        return h(
          `div.kpi.kpi-unknown#kpi-${id}`,
          { title: "Nobody told UnlearnScope the trigger. A phase that recovers one (Neural Cleanse) makes this measurable." },
          h("div.kpi-name", name),
          h("div.kpi-values", h("span.kpi-now.muted", "unknown trigger")),
          h("div.kpi-where.muted", "waits for a recovered trigger"),
        );
      }
      const now = m.latest(shown, key);
      const stage = now ? modelAt(now.step, ctx) : null;
      const where = !now
        ? "now = not measured yet"
        : now.step === 0
          ? "now = before unlearning"
          : stage.label === "after the defence"
            ? `after the defence: ${measuredWhere(now, shown)}`
            : `now = ${measuredWhere(now, shown)}`;
      const verdict = now ? judge(before[key], now.value) : null;
      return h(
        `div.kpi${verdict?.warn ? ".kpi-warn" : ""}#kpi-${id}`,
        tip ? { title: tip } : {},
        h("div.kpi-name", name, h("span.muted", ` ${explain}`)),
        h(
          "div.kpi-values",
          h("span.kpi-before", fmt(before[key])),
          h("span.arrow", " → "),
          h("span.kpi-now", now ? fmt(now.value) : "–"),
          verdict?.text ? h("span.kpi-delta", { title: verdict.title || "" }, ` ${verdict.text}`) : null,
        ),
        h("div.kpi-where.muted", { dataset: { step: now ? String(now.step) : "" } }, where),
        attackLine(key, fmt),
      );
    };
    fill(
      this.kpis,
      kpi("asr", m.triggerLabel("ASR"), "asr", (v) => percent(v), "lower is better", (b, now) => asrVerdict(now, m.config?.success?.asr_below),
        m.found ? `Measured with the trigger ${m.found.source}, not the attacker's own` : ""),
      kpi("ca", "CA", "ca", (v) => percent(v), "should stay high", caVerdict),
      kpi("ra", "RA", "ra", (v) => percent(v), "triggered images, true class: higher is better", () => null,
        "Robust accuracy: triggered images (true class not the target) classified as their true class"),
      kpi("tar", "TAR median", "tar_median", (v) => fixed(v, 2), "falls as the trigger is forgotten", () => null,
        `Trigger Attention Ratio on the trigger region: ${m.started?.trigger_region || "the trigger's pixels"}`),
    );
  }

  /** Once a detection with a known truth has decided: is there an oracle twin? */
  lookForTwin() {
    const m = this.model;
    const oracleable = (m.config?.model?.source || "train") !== "file";
    if (this.twin !== undefined || !m.detected?.truth_known || !oracleable) return;
    this.twin = null;
    findTwin(m)
      .then((row) => {
        this.twin = row ? { id: row.id, name: row.name } : null;
        this.render();
      })
      .catch(() => {
        this.twin = undefined; // looked up again on the next draw
      });
  }

  async runTwin() {
    this.twin = { pending: true };
    this.render();
    try {
      const id = await startTwin(this.model);
      location.hash = `#/compare/${encodeURIComponent(this.model.id)},${encodeURIComponent(id)}`;
    } catch (err) {
      this.twin = { error: err.message || String(err) };
      this.render();
    }
  }

  async togglePause() {
    const op = this.model.status === "paused" ? "resume" : "pause";
    await this.control(op);
  }

  stopClicked() {
    if (!this.stopArmed) {
      this.stopArmed = setTimeout(() => {
        this.stopArmed = 0;
        this.render();
      }, 4000);
      this.render();
      return;
    }
    clearTimeout(this.stopArmed);
    this.stopArmed = 0;
    this.control("stop");
  }

  async control(op) {
    this.pending = op;
    this.controlError = "";
    this.render();
    try {
      const out = await api.control(this.model.id, op);
      // The status itself arrives with the run's events, like every other change.
      if (!out.applied) this.controlError = `${op} sent: ${out.message}`;
    } catch (err) {
      this.controlError = `Could not ${op}: ${err.detail}`;
    } finally {
      this.pending = null;
      this.render();
    }
  }
}

/**
 * What a closing attack did to `key` at `step` (past the defended model's last step):
 * a finished run's own summary (RunFinished.retuned; for ASR, QRA's perturbation too),
 * else the newest measurement past the defence. {label, value, tip} or null.
 */
function attackedValue(m, step, key, defended, ctx) {
  const f = m.finished;
  const atEnd = f && step >= f.step;
  const retuned = f?.retuned?.[key];
  if (atEnd && retuned !== null && retuned !== undefined) {
    return { label: "after re-tuning", value: num(retuned), tip: "The retuning attack: a few steps of fine-tuning on a handful of poisoned images, full test set" };
  }
  const qra = f?.reactivated?.asr;
  if (atEnd && key === "asr" && qra !== null && qra !== undefined) {
    return { label: "with QRA's perturbation", value: num(qra), tip: "The reactivation attack: the trigger plus a small optimised perturbation, full test set" };
  }
  const after = m.latest(step, key);
  if (!after || after.step <= defended) return null;
  return { label: modelAt(after.step, ctx).label, value: after.value, tip: `step ${after.step}, ${after.full ? "full test set" : "monitor subset"}` };
}

/** "26 / 190" while it runs; an ended run says what it took and what was planned. */
function stepText(m, planned) {
  if (m.active) return `${m.step} / ${planned}`;
  return m.step >= planned ? `${m.step} (all planned steps)` : `${m.step} (of ${planned} planned)`;
}

/** Where a headline number comes from, and how far behind the step shown it is. */
function measuredWhere(now, step) {
  const what = now.full ? "full test set" : "monitor subset";
  const behind = step - now.step;
  return `step ${now.step}, ${what}${behind > 0 ? ` (${behind} step${behind > 1 ? "s" : ""} ago)` : ""}`;
}

/** ASR against the run's bar (config success.asr_below, 10% by default): above it, a
 * warning in words; the verdict line says what that means for the run. */
export function asrVerdict(now, bar = 10) {
  if (now === null || now === undefined || !Number.isFinite(now)) return null;
  const limit = bar ?? 10;
  return now >= limit
    ? { warn: true, text: `✗ ≥ ${limit}% bar`, title: "the backdoor counts as removed only below this run's ASR bar (success.asr_below)" }
    : { warn: false, text: `✓ < ${limit}% bar`, title: "below this run's ASR bar (success.asr_below)" };
}

/** Clean accuracy: the change in points; a warning below 90% of where it started. */
export function caVerdict(before, now) {
  if (before === null || before === undefined || now === null || !Number.isFinite(now)) return null;
  const drop = before - now;
  const warn = now < 0.9 * before;
  const text = Math.abs(drop) < 0.05 ? "" : drop > 0 ? `▼ ${drop.toFixed(1)} pts` : `▲ ${(-drop).toFixed(1)} pts`;
  return { warn, text, title: warn ? "clean accuracy fell below 90% of its value before unlearning" : "change since before unlearning, in percentage points" };
}

/** The preparation message: stage, batches as epochs, cache hits said plainly. */
function preparingText(p) {
  if (!p) return "Preparing: starting a worker, loading data, training the backdoored model…";
  if (p.stage === "attack_training" && /cache/.test(p.message || "")) {
    return "Preparing: the backdoored model was loaded from cache (trained by an earlier run with the same attack), so no training is needed.";
  }
  const stage = { data: "loading the data", attack_training: "training the backdoored model", model: "loading your model", fisher: "estimating the Fisher information (for EWC)" }[p.stage] || p.stage;
  const pct = p.total ? ` ${Math.round((100 * p.done) / p.total)}%` : "";
  return `Preparing: ${stage}${pct}${p.message && p.stage === "data" ? ` (${p.message})` : ""}.`;
}

// Share of the preparation bar per stage: training the backdoored model is most of it.
const PREP_STAGES = { data: [0, 0.1], attack_training: [0.1, 0.9], model: [0.1, 0.9], fisher: [0.9, 1] };

function prepFraction(p) {
  const [a, b] = PREP_STAGES[p.stage] || [0, 1];
  return a + (b - a) * Math.min(1, p.done / Math.max(1, p.total));
}

/** One line on where the forget set comes from: the oracle's, the user's, or what a
 * detection phase flagged (and how many of those were truly poisoned, when known). */
export function forgetNote(m, twin = null, onTwin = null) {
  const st = m.started;
  if (!st) return [];
  const d = m.detected;
  const pc = (x) => (x === null || x === undefined ? "n/a" : `${(100 * x).toFixed(1)}%`);
  if (d) {
    const n = d.indices.length;
    const parts = [
      h("b", "Forget set: "),
      `${n.toLocaleString("en-US")} training images flagged by ${d.kind} (phase ${d.phase_index + 1}) out of ${d.training_size.toLocaleString("en-US")}`,
    ];
    if (d.truth_known) {
      parts.push(`; ${d.true_flagged.toLocaleString("en-US")} of them are truly poisoned (precision ${pc(d.precision)}, recall ${pc(d.recall)} of the ${d.poisoned.toLocaleString("en-US")} poisoned)`);
    } else {
      parts.push("; nobody knows which are truly poisoned, so the detection cannot be scored");
    }
    parts.push(". ");
    if (n) parts.push(h("a#forget-csv", { href: `/api/runs/${encodeURIComponent(m.id)}/forget-set.csv`, download: "" }, "Download the list (CSV)"));
    if (d.truth_known && twin?.id) {
      parts.push(" · ", h("a#oracle-twin", { href: `#/compare/${encodeURIComponent(m.id)},${encodeURIComponent(twin.id)}`, title: `Run ${twin.name}: the same settings with the truly poisoned samples as the forget set` }, "Compare with the oracle forget set"));
    } else if (d.truth_known && twin?.pending) {
      parts.push(" · starting the oracle run…");
    } else if (d.truth_known && twin?.error) {
      parts.push(" · ", h("span.error-text", `could not start the oracle run: ${twin.error}`));
    } else if (d.truth_known && onTwin && (m.config?.model?.source || "train") !== "file") {
      parts.push(" · ", h("button.linklike#oracle-twin-start", { type: "button", onclick: onTwin, title: "Queue the same run with the truly poisoned samples as the forget set (no detection phase), then compare the two" }, "Run it with the oracle forget set and compare"));
    }
    return parts;
  }
  const detecting = (m.schedule || []).findIndex((p) => phaseKind(p.kind)?.finds_forget_set);
  if (st.forget_source === "oracle") {
    return [h("b", "Forget set: oracle. "), `The ${st.forget_size.toLocaleString("en-US")} truly poisoned training images, known only because UnlearnScope planted the backdoor; a real defender has to find them (defense.oracle off, and a detection phase).`];
  }
  if (st.forget_source === "folder") {
    return [h("b", "Forget set: "), `your ${st.forget_size.toLocaleString("en-US")} identified poisoned images.`];
  }
  if (detecting >= 0) {
    return [h("b", "Forget set: not found yet. "), `Phase ${detecting + 1} (${m.schedule[detecting].kind}) searches the ${st.training_size.toLocaleString("en-US")} training images for poisoned ones; the phases after it unlearn what it flags. No phase is told which are truly poisoned.`];
  }
  return [];
}

