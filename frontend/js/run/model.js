// A run as the page knows it: built from the run's row (GET /api/runs/{id}) and then
// from its events, in seq order, whether they come from the history or live.

import { num } from "../core/format.js";
import { lastAtOrBefore } from "../core/search.js";
import { isLive } from "../core/vocab.js";

const RATE_WINDOW = 30; // steps used for the steps/s estimate
// Heatmap maps kept in memory (8 probes at 32 px: 16 KB a frame). Older ones are dropped
// and fetched again (GET /frames/{step}/maps) when the slider goes back to them.
const MAX_FRAME_MAPS = 2000;

export class RunModel {
  constructor(run) {
    this.id = run.id;
    this.run = run;
    this.name = run.name;
    this.config = run.config;
    this.status = run.status;
    this.message = run.message || "";
    this.error = run.error;
    this.step = run.step || 0;
    this.totalSteps = run.total_steps || 0;
    this.schedule = run.schedule || run.config?.schedule || [];
    this.device = run.device;
    this.started = null; // RunStarted
    this.probes = null; // {indices, labels, size, images, region}
    this.phases = []; // {index, kind, start, end, planned, reason}
    this.phaseIndex = 0;
    this.phaseDone = 0;
    this.edits = []; // {step, accepted, reason, seq}
    this.evals = [];
    this.steps = []; // StepMetrics, in step order
    // Monitor measurements merged by step (several events may measure one step), in step
    // order whatever their arrival order: {step, phase_index, asr, ca, tar_median, ...}.
    this.measurements = [];
    this.trainLog = []; // attack-training progress: {t, done, total, loss, acc}
    // The latest PhaseVisual event of each kind and name ("ibau:perturbation", ANP's mask
    // histogram, NC's recovered trigger, ...), in first-seen order: I-BAU's perturbation
    // and the reactivation attack's (qra) share a name but are different pictures.
    this.visuals = new Map();
    // Backdoor-connected paths (PathEvaluated: at every phase end, and on request), in
    // step order; the answer of POST /path and its stream event are kept once.
    this.paths = [];
    this.frames = new Map(); // step -> frame
    this.frameSteps = []; // sorted
    this.framesWithMaps = 0;
    this.progress = null;
    this.finished = null;
    this.fatal = null;
    this.firstT = null;
    this.lastT = null;
    this.stepTimes = [];
    this.listeners = new Set();
  }

  subscribe(fn) {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  notify(event) {
    for (const fn of this.listeners) fn(event, this);
  }

  get active() {
    return isLive(this.status);
  }

  get classes() {
    return this.started?.classes || null;
  }

  /** The class the trigger leads to; null while the trigger is unknown. */
  get targetClass() {
    if (this.found) return this.found.target_class;
    if (this.started && this.started.target_class === null) return null;
    return this.started?.target_class ?? this.config?.attack?.target_class ?? 0;
  }

  /** Nobody knows the trigger (a user's model) and no phase has recovered one yet. */
  get triggerUnknown() {
    return this.started?.trigger_source === "unknown" && !this.found;
  }

  /** "ASR" or "ASR (recovered trigger)": what the trigger numbers are measured with. */
  triggerLabel(name) {
    return this.found ? `${name} (recovered trigger)` : name;
  }

  get lastStep() {
    return this.steps.length ? this.steps[this.steps.length - 1].step : 0;
  }

  /** A newer row from the run list (queue place; the status unless events carry it). */
  updateRun(run, { status = true } = {}) {
    this.run = run;
    if (status && run.status !== this.status) {
      this.status = run.status;
      this.message = run.message || this.message;
      this.error = run.error || this.error;
    }
    this.notify({ type: "run_row" });
  }

  apply(e) {
    const t = num(e.t);
    if (t) {
      this.firstT ??= t;
      this.lastT = t;
    }
    const handler = HANDLERS[e.type];
    if (handler) handler(this, e);
    this.notify(e);
  }

  /** Steps per second over the last steps (null before two steps). */
  rate() {
    const times = this.stepTimes;
    if (times.length < 2) return null;
    const span = times[times.length - 1] - times[0];
    return span > 0 ? (times.length - 1) / span : null;
  }

  /** Seconds from the first event to the last (or to now while running). */
  elapsed(live) {
    if (this.firstT === null) return null;
    const end = live && this.active ? Date.now() / 1000 : this.lastT;
    return end - this.firstT;
  }

  /**
   * The newest measurement of `key` (asr, ca, tar_median) at or before `step`: from the
   * monitor or a full evaluation, whichever is newer. {value, step, full} or null.
   */
  latest(step, key) {
    let found = null;
    for (let i = stepIndex(this.measurements, step); i >= 0; i--) {
      const s = this.measurements[i];
      if (s[key] !== null && s[key] !== undefined) {
        found = { value: num(s[key]), step: s.step, full: false };
        break;
      }
    }
    for (const e of this.evals) {
      if (e.step <= step && e[key] !== null && e[key] !== undefined && (!found || e.step >= found.step)) {
        found = { value: num(e[key]), step: e.step, full: true };
      }
    }
    return found;
  }

  /** Measured points of `key`, in step order: {steps, values}. */
  series(key) {
    const steps = [];
    const values = [];
    for (const s of this.measurements) {
      if (s[key] === null || s[key] === undefined) continue;
      steps.push(s.step);
      values.push(num(s[key]));
    }
    return { steps, values };
  }

  /**
   * A path event (from the stream, or the answer of POST /path): kept in step order,
   * once (the answer and its stream event share their request_id and seq). True when new.
   */
  addPath(e) {
    if (!e || !Array.isArray(e.alphas)) return false;
    const same = (p) =>
      (e.request_id && p.request_id === e.request_id) ||
      (e.seq && p.seq === e.seq) ||
      (p.step === e.step && p.label === e.label && (p.request_id || "") === (e.request_id || ""));
    const i = this.paths.findIndex(same);
    if (i >= 0) {
      // the stream's copy carries the seq; keep whichever has it
      if (!this.paths[i].seq && e.seq) this.paths[i] = { ...this.paths[i], seq: e.seq };
      return false;
    }
    insertByStep(this.paths, e);
    return true;
  }

  /** The newest path measured at or before `step` (null: the newest of all); null if none. */
  pathAt(step = null) {
    if (step === null) return this.paths.length ? this.paths[this.paths.length - 1] : null;
    const i = stepIndex(this.paths, step);
    return i >= 0 ? this.paths[i] : null;
  }

  /**
   * Where the triggered non-target images went, in step order: [{step, counts, full}],
   * counts one per class. From the monitor's measurements and the full evaluations; at a
   * step both measured, the full test set wins.
   */
  triggeredClasses() {
    const byStep = new Map();
    for (const s of this.measurements) {
      if (Array.isArray(s.triggered_classes)) byStep.set(s.step, { step: s.step, counts: s.triggered_classes, full: false });
    }
    for (const e of this.evals) {
      if (Array.isArray(e.triggered_classes)) byStep.set(e.step, { step: e.step, counts: e.triggered_classes, full: true, label: e.label });
    }
    return [...byStep.values()].sort((a, b) => a.step - b.step);
  }

  /** Steps the run will take: phases that ended count what they took, the rest their plan. */
  plannedTotal() {
    let total = 0;
    for (let i = 0; i < this.schedule.length; i++) {
      const p = this.phases[i];
      total += p && p.end !== null ? p.end - p.start : Number(this.schedule[i].steps) || 0;
    }
    return Math.max(total, this.step);
  }

  /** Phases that an early stop ended: [{index, kind, step, steps, asr, threshold}]. */
  earlyStops() {
    return this.phases.filter((p) => p && p.reason === "early_stop");
  }

  evaluation(label) {
    return this.evals.find((e) => e.label === label) || null;
  }

  /** The backdoored model's evaluation: with the recovered trigger once there is one. */
  before() {
    return this.evaluation("before (recovered trigger)") || this.evaluation("before");
  }

  /** TAR of one probe sample over the recorded frames: {steps, tars}. */
  probeTarHistory(probe) {
    const steps = [];
    const tars = [];
    for (const step of this.frameSteps) {
      const f = this.frames.get(step);
      if (f?.tars) {
        steps.push(step);
        tars.push(num(f.tars[probe]));
      }
    }
    return { steps, tars };
  }

  /** Phase intervals for the charts: what ran, and what is still planned. */
  phaseSpans() {
    const spans = this.phases.map((p) => ({
      index: p.index,
      kind: p.kind,
      start: p.start,
      end: p.end ?? this.openPhaseEnd(p),
      planned: p.end === null,
      current: p.end === null && this.active,
      reason: p.reason,
    }));
    if (!this.active) return spans.filter((s) => s.end > s.start);
    // Phases not started yet, laid out after the current one.
    let next = spans.length ? spans[spans.length - 1].end : 0;
    for (let i = this.phases.length; i < this.schedule.length; i++) {
      const steps = this.schedule[i].steps;
      spans.push({ index: i, kind: this.schedule[i].kind, start: next, end: next + steps, planned: true });
      next += steps;
    }
    return spans;
  }

  openPhaseEnd(p) {
    if (!this.active) return Math.max(p.start, this.step);
    return Math.max(p.start + (this.schedule[p.index]?.steps ?? p.planned), this.step);
  }

  /** The last step planned (while active) or taken. */
  plannedEnd() {
    const spans = this.phaseSpans();
    const last = spans.length ? spans[spans.length - 1].end : this.totalSteps;
    return Math.max(this.step, this.active ? last : this.step, 1);
  }

  /**
   * The charts' x extent: the whole plan once half of it has run, before that a round
   * number ahead of the run (so early steps of a long run are not squeezed into a corner,
   * and the axis changes only now and then).
   */
  chartEnd() {
    const planned = this.plannedEnd();
    if (!this.active || this.step * 2 >= planned) return planned;
    return Math.min(planned, niceCeil(Math.max(10, this.step * 1.5)));
  }
}

const HANDLERS = {
  status(m, e) {
    m.status = e.status;
    m.message = e.message || "";
    m.step = Math.max(m.step, e.step || 0);
    if (e.status === "failed" && e.message) m.error = e.message;
  },
  run_started(m, e) {
    m.started = e;
    m.device = e.device;
    m.totalSteps = e.total_steps;
    m.schedule = e.schedule;
  },
  progress(m, e) {
    m.progress = e;
    if (e.stage === "attack_training" && e.metrics && e.metrics.loss !== undefined) {
      m.trainLog.push({ t: num(e.t), done: e.done, total: e.total, loss: num(e.metrics.loss), acc: num(e.metrics.acc) });
    }
  },
  phase_visual(m, e) {
    const key = `${e.kind}:${e.name}`;
    const old = m.visuals.get(key);
    if (!old || old.step <= e.step) m.visuals.set(key, e);
  },
  probes(m, e) {
    // region: (P*S*S) uint8, 1 inside each probe's trigger region (null: none defined)
    m.probes = { indices: e.indices, labels: e.labels, size: e.size, images: e.images, region: e.region || null };
  },
  phase_start(m, e) {
    m.phases[e.phase_index] = {
      index: e.phase_index,
      kind: e.kind,
      start: e.step,
      end: null,
      planned: e.planned_steps,
      reason: null,
      steps: null,
      asr: null,
      threshold: null,
    };
    m.phaseIndex = e.phase_index;
    m.phaseDone = 0;
  },
  phase_end(m, e) {
    const p = m.phases[e.phase_index];
    if (p) {
      p.end = e.step;
      p.reason = e.reason;
      p.steps = e.steps ?? e.step - p.start;
      p.asr = e.asr ?? null;
      p.threshold = e.threshold ?? null;
    }
    m.phaseIndex = e.phase_index + 1;
    m.phaseDone = 0;
  },
  step(m, e) {
    insertByStep(m.steps, e, true);
    m.step = Math.max(m.step, e.step);
    m.phaseIndex = e.phase_index;
    m.phaseDone = e.phase_step;
    m.stepTimes.push(num(e.t));
    if (m.stepTimes.length > RATE_WINDOW) m.stepTimes.shift();
  },
  frames(m, e) {
    const frame = {
      step: e.step,
      seq: e.seq,
      size: e.size,
      count: e.count,
      maps: e.maps || null,
      preds: e.preds,
      confs: e.confs,
      tars: e.tars,
    };
    if (!m.frames.has(e.step)) insertSorted(m.frameSteps, e.step);
    m.frames.set(e.step, frame);
    m.framesWithMaps += frame.maps ? 1 : 0;
    if (m.framesWithMaps > MAX_FRAME_MAPS) dropOldestMaps(m);
  },
  measurement(m, e) {
    const fields = {};
    for (const [k, v] of Object.entries(e)) {
      if (v !== null && v !== undefined && !SKIP_FIELDS.has(k)) fields[k] = v;
    }
    const i = stepIndex(m.measurements, e.step);
    if (i >= 0 && m.measurements[i].step === e.step) Object.assign(m.measurements[i], fields);
    else m.measurements.splice(i + 1, 0, { ...fields, step: e.step });
  },
  evaluation(m, e) {
    m.evals.push(e);
  },
  schedule_edit(m, e) {
    m.edits.push({ step: e.step, accepted: e.accepted, reason: e.reason, seq: e.seq });
    if (e.accepted) {
      m.schedule = e.schedule;
      m.totalSteps = e.total_steps;
    }
  },
  run_finished(m, e) {
    m.finished = e;
  },
  path(m, e) {
    m.addPath(e);
  },
  trigger_found(m, e) {
    m.found = e; // {step, kind, source, target_class, trigger_region}
  },
  forget_set_found(m, e) {
    m.detected = e; // {kind, phase_index, indices, precision, recall, auc, ...}
  },
  error(m, e) {
    if (e.fatal) {
      m.fatal = e;
      m.error = e.message;
    }
  },
};

/** The smallest 1, 2 or 5 times a power of ten that is >= x. */
function niceCeil(x) {
  const p = 10 ** Math.floor(Math.log10(x));
  return [1, 2, 5, 10].map((k) => k * p).find((v) => v >= x);
}

function dropOldestMaps(m) {
  // Step 0 (before unlearning) stays: it is the reference every comparison is made with.
  for (let i = 1; i < m.frameSteps.length; i++) {
    const f = m.frames.get(m.frameSteps[i]);
    if (f?.maps) {
      f.maps = null;
      m.framesWithMaps -= 1;
      return;
    }
  }
}

// Event fields that are not measured values.
const SKIP_FIELDS = new Set(["type", "seq", "t", "seconds"]);

/** Index of the last item whose .step (or value) is <= step, -1 if none (sorted input). */
function stepIndex(items, step) {
  return lastAtOrBefore(items, step, (v) => (typeof v === "number" ? v : v.step));
}

/** Insert `item` in step order (after equal steps); replace an equal step when `replace`. */
function insertByStep(items, item, replace = false) {
  const i = stepIndex(items, item.step);
  if (replace && i >= 0 && items[i].step === item.step) items[i] = item;
  else items.splice(i + 1, 0, item);
}

function insertSorted(values, v) {
  values.splice(stepIndex(values, v) + 1, 0, v);
}

/** A frame the live stream skipped (slow client): known step, maps fetched on demand. */
export function markSkipped(model, notice) {
  if (notice.step === null || notice.step === undefined || model.frames.has(notice.step)) return;
  insertSorted(model.frameSteps, notice.step);
  model.frames.set(notice.step, { step: notice.step, seq: notice.seq, missing: true });
  model.notify({ type: "frames", step: notice.step, skipped: true });
}
