// Number, time and label formatting shared by the views.

/** Event fields may hold "NaN" / "Infinity" strings (strict JSON): numbers or null. */
export function num(value) {
  if (value === null || value === undefined) return null;
  return typeof value === "number" ? value : Number(value);
}

export function fixed(value, digits = 2) {
  const v = num(value);
  if (v === null) return "–";
  if (!Number.isFinite(v)) return String(v);
  return v.toFixed(digits);
}

export function percent(value, digits = 1) {
  const v = num(value);
  return v === null ? "–" : `${fixed(v, digits)}%`;
}

/** Compact general number: 0.01, 1e-4, 12.3, 5000. */
export function short(value) {
  const v = num(value);
  if (v === null) return "–";
  if (!Number.isFinite(v)) return String(v);
  if (v !== 0 && (Math.abs(v) < 1e-3 || Math.abs(v) >= 1e5)) return v.toExponential(1);
  return String(Number(v.toPrecision(4)));
}

export function duration(seconds) {
  if (seconds === null || seconds === undefined || !Number.isFinite(seconds)) return "–";
  const s = Math.max(0, Math.round(seconds));
  const hours = Math.floor(s / 3600);
  const minutes = Math.floor((s % 3600) / 60);
  const secs = s % 60;
  if (hours) return `${hours}h ${String(minutes).padStart(2, "0")}m`;
  if (minutes) return `${minutes}m ${String(secs).padStart(2, "0")}s`;
  return `${secs}s`;
}

export function ago(iso) {
  if (!iso) return "";
  const seconds = (Date.now() - new Date(iso).getTime()) / 1000;
  if (seconds < 60) return "just now";
  if (seconds < 3600) return `${Math.floor(seconds / 60)} min ago`;
  if (seconds < 86400) return `${Math.floor(seconds / 3600)} h ago`;
  return new Date(iso).toLocaleDateString();
}

/** "running" -> "Running": a run state as a badge shows it (the states: GET /api/options). */
export function statusLabel(status) {
  return status ? status[0].toUpperCase() + status.slice(1) : "";
}

export function statusBadgeClass(status) {
  return `badge status-${status || "unknown"}`;
}

/** The name of class `index` ("class 3" when the names are not known yet). */
export function className(classes, index) {
  if (index === null || index === undefined) return "–";
  return classes && classes[index] !== undefined ? classes[index] : `class ${index}`;
}

/** "phase 1 stopped early at step 8 (monitor ASR 4.6% < 10%)"; short: for a chart label. */
export function earlyStopText(p, short) {
  const why = p.asr !== null && p.asr !== undefined
    ? ` (monitor ASR ${percent(p.asr)}${p.threshold !== null && p.threshold !== undefined ? ` < ${percent(p.threshold, 0)}` : ""})`
    : "";
  return short ? `${p.kind} stopped early${why}` : `Phase ${p.index + 1} (${p.kind}) stopped early at step ${p.end}${why}`;
}

/** A run's setup in a few words: "cifar10 · resnet18 · badnets", or for a user's model
 * "imagefolder · resnet18 (your file) · trigger unknown". */
export function setupText(cfg) {
  const data = cfg?.data?.name ?? "?";
  const model = cfg?.model?.name ?? "?";
  const source = cfg?.model?.source ?? "train";
  if (source === "train") return `${data} · ${model} · ${cfg?.attack?.kind ?? "?"}`;
  const where = source === "backdoorbench" ? "BackdoorBench file" : "your file";
  const trigger = cfg?.attack?.known === false ? "trigger unknown" : source === "backdoorbench" ? "its triggered test set" : `${cfg?.attack?.kind ?? "?"} (as described)`;
  return `${data} · ${model} (${where}) · ${trigger}`;
}

/**
 * A run's steps against its total, in the words every view uses: "35 / 169" while it
 * runs; "169 steps" or "120 of 169 planned steps" once it ended. `total` is the API's
 * run.plan.total (ml/schedule.py run_plan; run.total_steps is the same number) or, on the
 * run page, model.plannedTotal(): the same definition, phases that ended counting the
 * steps they took and the others their steps in force.
 */
export function stepsText(step, total, active) {
  const t = Math.max(Number(total) || 0, step);
  if (active) return `${step} / ${t}`;
  return step >= t ? `${step} steps` : `${step} of ${t} planned steps`;
}

/**
 * A run's schedule as it ran, from the API's run.plan: "ascent 9 of 40 → recovery 50",
 * with "edited live (planned: 140 steps)" when a live edit changed it. A phase that ended
 * shows the steps it took where they differ from its steps in force.
 */
export function planText(plan) {
  if (!plan?.phases?.length) return "–";
  const phases = plan.phases.map((p) => `${p.kind} ${p.taken !== null && p.taken !== undefined && p.taken !== p.steps ? `${p.taken} of ${p.steps}` : p.steps}`);
  return `${phases.join(" → ")}${plan.edited ? ` · edited live (planned: ${plan.planned_total} steps)` : ""}`;
}
