// The compare view's x-axis: a run's position as a step, as seconds since its unlearning
// began, or as a percent of the run, and back from a slider position to each run's step.

import { lastAtOrBefore } from "../core/search.js";

/** Seconds of unlearning before a step event's time, t0 = the first step's start. */
function startTime(steps) {
  return steps.length ? steps[0].t - (steps[0].step_time || 0) : 0;
}

/** Seconds since unlearning began at `step` (the step event's time). */
export function timeAt(model, step) {
  const steps = model.steps;
  if (!steps.length || step <= 0) return 0;
  const i = Math.max(0, lastAtOrBefore(steps, step, (s) => s.step));
  return steps[i].t - startTime(steps);
}

/** The run's length in steps: planned while it runs, taken once it ended. */
export function totalOf(model) {
  return Math.max(1, model.active ? model.plannedTotal() : model.lastStep || model.plannedTotal());
}

/** x of `step` in `mode` ("step", "time" or "progress"). */
export function xOf(mode, model, step) {
  if (mode === "progress") return (100 * step) / totalOf(model);
  if (mode === "time") return timeAt(model, step);
  return step;
}

/** The step at slider position `x` in `mode` (null: the run's latest step). */
export function stepAt(mode, model, x) {
  const last = model.lastStep;
  if (x === null) return last;
  if (mode === "progress") return Math.min(last, Math.round((x / 100) * totalOf(model)));
  if (mode === "time") {
    const steps = model.steps;
    const t0 = startTime(steps);
    const i = lastAtOrBefore(steps, x, (s) => s.t - t0);
    return i < 0 ? 0 : steps[i].step;
  }
  return Math.min(last, Math.round(x));
}

/** The slider's position in words. */
export function positionText(mode, x) {
  if (x === null) return "the latest step of each run";
  if (mode === "progress") return `${x.toFixed(1)}% of each run`;
  if (mode === "time") return `${x.toFixed(1)} s into each run`;
  return `step ${Math.round(x)}`;
}
