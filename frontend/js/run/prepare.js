// Preparation of a run, live: loading data, training the backdoored model (epoch,
// training loss and accuracy as a small chart, time left) or loading it from the cache,
// and the Fisher estimate. Open while preparing; afterwards a one-line summary that opens.

import { h, fill, perFrame } from "../core/dom.js";
import { duration, fixed } from "../core/format.js";

const STAGES = [
  ["data", "Load the data"],
  ["attack_training", "Train the backdoored model"],
  ["model", "Load your model"],
  ["fisher", "Estimate the Fisher information (for EWC)"],
];

export class PrepPanel {
  constructor(root, model) {
    this.model = model;
    this.root = root;
    this.stages = {}; // stage -> last progress event
    this.summary = h("summary.prep-summary");
    this.list = h("ol.prep-stages");
    this.chart = h("div.prep-chart#prep-chart");
    this.details = h("details.prep", this.summary, h("div.prep-body", this.list, this.chart));
    root.append(this.details);
    this.render = perFrame(() => this.draw());
    this.unsubscribe = model.subscribe((e) => {
      if (e.type === "progress") this.stages[e.stage] = e;
      if (["progress", "status", "run_started", "step"].includes(e.type)) this.render();
    });
    this.draw();
  }

  destroy() {
    this.unsubscribe();
  }

  draw() {
    const m = this.model;
    const preparing = m.status === "preparing" || m.status === "queued";
    const any = Object.keys(this.stages).length > 0;
    this.root.hidden = !preparing && !any;
    if (this.root.hidden) return;
    if (preparing) this.details.open = true;
    else if (!this.closedOnce) {
      this.closedOnce = true; // fold once when preparation ends; the user may reopen it
      this.details.open = false;
    }
    const train = this.stages.attack_training;
    const cached = /cache/.test(train?.message || "");
    fill(this.summary, h("b", preparing ? "Preparing the run" : "Preparation"), h("span.muted", ` · ${this.summaryText(preparing, train, cached)}`));
    // a model from a file is loaded, not trained (and the reverse)
    const imported = (m.config?.model?.source ?? "train") !== "train";
    const shown = STAGES.filter(([stage]) => (imported ? stage !== "attack_training" : stage !== "model"));
    fill(this.list, shown.map(([stage, title]) => this.stageItem(stage, title)));
    this.chart.hidden = cached || m.trainLog.length < 1;
    if (!this.chart.hidden) fill(this.chart, trainChart(m.trainLog));
  }

  summaryText(preparing, train, cached) {
    const loaded = this.stages.model;
    if (loaded) return loaded.message;
    if (cached) return "backdoored model loaded from cache (trained by an earlier run with the same settings)";
    const last = this.model.trainLog.at(-1);
    if (!last) return preparing ? "starting…" : "done";
    const what = `training accuracy ${fixed(last.acc, 1)}%, loss ${fixed(last.loss, 3)}`;
    return preparing && train && train.done < train.total ? `training the backdoored model: ${what}` : `backdoored model trained: ${what}`;
  }

  stageItem(stage, title) {
    const e = this.stages[stage];
    const started = Boolean(e);
    const done = started && e.done >= e.total;
    let detail = started ? e.message : "waiting";
    if (stage === "attack_training" && started && !/cache/.test(e.message || "")) detail = this.trainingDetail(e);
    if (stage === "attack_training" && started && /cache/.test(e.message || "")) detail = "loaded from cache: no training needed";
    const pct = started && e.total ? Math.round((100 * e.done) / e.total) : 0;
    return h(
      `li.prep-stage.${done ? "done" : started ? "now" : "later"}`,
      { dataset: { stage } },
      h("span.prep-mark", done ? "✓" : started ? "…" : "·"),
      h("span.prep-title", title),
      h("span.prep-bar", h("span", { style: { width: `${pct}%` } })),
      h("span.prep-detail.muted", detail),
    );
  }

  /** "epoch 3 of 8 · batch 120/376 · about 1m 20s left" */
  trainingDetail(e) {
    const epochs = Number(this.model.config?.training?.epochs) || 0;
    const parts = [];
    if (epochs && e.total) parts.push(`epoch ${Math.min(epochs, Math.max(1, Math.ceil((e.done / e.total) * epochs)))} of ${epochs}`);
    parts.push(`batch ${e.done}/${e.total}`);
    const left = timeLeft(this.model.trainLog);
    if (e.done < e.total && left !== null) parts.push(`about ${duration(left)} left`);
    return parts.join(" · ");
  }
}

/** Seconds left at the pace so far, or null before two reports. */
export function timeLeft(log) {
  if (log.length < 2) return null;
  const a = log[0];
  const b = log[log.length - 1];
  const rate = (b.done - a.done) / Math.max(1e-6, b.t - a.t);
  return rate > 0 ? (b.total - b.done) / rate : null;
}

/** Two small line charts (accuracy %, loss) over the batches trained, as inline SVG. */
function trainChart(log) {
  const total = log.at(-1)?.total || 1;
  return [
    spark(log, (p) => p.acc, { title: "training accuracy", unit: "%", lo: 0, hi: 100, total, color: "#0072B2" }),
    spark(log, (p) => p.loss, { title: "training loss", unit: "", lo: 0, hi: null, total, color: "#D55E00" }),
  ];
}

function spark(log, get, { title, unit, lo, hi, total, color }) {
  const W = 260;
  const H = 90;
  const pad = { l: 34, r: 8, t: 8, b: 18 };
  const values = log.map(get).filter((v) => Number.isFinite(v));
  const top = hi ?? Math.max(1e-6, ...values) * 1.1;
  const x = (done) => pad.l + (done / total) * (W - pad.l - pad.r);
  const y = (v) => pad.t + (1 - (v - lo) / (top - lo)) * (H - pad.t - pad.b);
  const points = log.filter((p) => Number.isFinite(get(p))).map((p) => `${x(p.done).toFixed(1)},${y(get(p)).toFixed(1)}`).join(" ");
  const last = values.at(-1);
  const ns = "http://www.w3.org/2000/svg";
  const svg = document.createElementNS(ns, "svg");
  svg.setAttribute("viewBox", `0 0 ${W} ${H}`);
  svg.setAttribute("role", "img");
  svg.setAttribute("aria-label", `${title} over the batches trained`);
  svg.innerHTML = `
    <line x1="${pad.l}" y1="${H - pad.b}" x2="${W - pad.r}" y2="${H - pad.b}" stroke="#c9d1da"/>
    <line x1="${pad.l}" y1="${pad.t}" x2="${pad.l}" y2="${H - pad.b}" stroke="#c9d1da"/>
    <text x="${pad.l - 4}" y="${pad.t + 8}" text-anchor="end" font-size="10" fill="#52606d">${fixed(top, unit ? 0 : 2)}${unit}</text>
    <text x="${pad.l - 4}" y="${H - pad.b}" text-anchor="end" font-size="10" fill="#52606d">${lo}${unit}</text>
    <text x="${W - pad.r}" y="${H - 4}" text-anchor="end" font-size="10" fill="#52606d">batches →</text>
    <polyline fill="none" stroke="${color}" stroke-width="2" points="${points}"/>`;
  return h(
    "figure.prep-spark",
    h("figcaption", `${title}: `, h("b", last === undefined ? "–" : `${fixed(last, unit ? 1 : 3)}${unit}`)),
    svg,
  );
}
