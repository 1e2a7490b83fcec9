// Which model a step of a run shows, in words. A schedule may close with attack phases
// (relearn, the retuning attack; qra, the reactivation attack: PhaseKind.attack) that play
// the attacker on the defended model. The verdict judges the defended model, the one
// before those trailing attacks (ml/engine/summary.py); the header's numbers and the
// backdoor-fires line say the same model, and name the attacked one apart.

import { phaseKind } from "../core/vocab.js";

/** Index of the first phase of the schedule's trailing run of attack phases
 * (schedule.length: the schedule does not end with an attack). */
export function firstClosingAttack(schedule, isAttack) {
  let first = schedule.length;
  while (first > 0 && isAttack(schedule[first - 1]?.kind)) first -= 1;
  return first;
}

/**
 * The last step of the defended model: the end of the last phase before the closing
 * attacks (0 when the schedule is only attacks). null when no attack closes the schedule
 * (the newest model is the defended one) or that phase has not ended yet.
 * phases: [{start, end}] as the run's events tell them (end null while it runs).
 */
export function defendedStep(schedule, phases, isAttack) {
  const first = firstClosingAttack(schedule, isAttack);
  if (first === schedule.length) return null;
  if (first === 0) return 0;
  const end = phases[first - 1]?.end;
  return end === null || end === undefined ? null : end;
}

/**
 * The model at `step`, in words: {key, label}, key one of "before" (the backdoored
 * model, step 0), "defence" (a defence is at work, or has finished: label "after the
 * defence" once the defended model is final), "attack" (a closing attack changed or
 * tested it: label "after the retuning attack"). ctx: {schedule, phases, isAttack,
 * kindLabel (kind -> its label), finished (the run ended)}.
 */
export function modelAt(step, { schedule, phases, isAttack, kindLabel, finished }) {
  if (!(step > 0)) return { key: "before", label: "before unlearning" };
  const defended = defendedStep(schedule, phases, isAttack);
  if (defended !== null && step > defended) {
    const phase = phases.find((p) => p && p.start < step && (p.end === null || p.end === undefined || step <= p.end));
    const kind = phase?.kind ?? schedule[firstClosingAttack(schedule, isAttack)]?.kind;
    return { key: "attack", label: `after the ${lowerFirst(kindLabel(kind) || kind)}` };
  }
  const last = defended ?? lastEnd(phases);
  const done = defended !== null || finished;
  return { key: "defence", label: done && last !== null && step >= last ? "after the defence" : "during the defence" };
}

function lastEnd(phases) {
  const ends = phases.filter((p) => p && p.end !== null && p.end !== undefined).map((p) => p.end);
  return ends.length ? Math.max(...ends) : null;
}

function lowerFirst(text) {
  return text ? text[0].toLowerCase() + text.slice(1) : "";
}

/** What modelAt needs to know of a run (a RunModel), the phase kinds from the server's
 * vocabulary (GET /api/options: `attack`, `label`). */
export function stageContext(m) {
  return {
    schedule: m.schedule || [],
    phases: m.phases,
    isAttack: (kind) => Boolean(phaseKind(kind)?.attack),
    kindLabel: (kind) => phaseKind(kind)?.label || kind,
    finished: Boolean(m.finished) || !m.active,
  };
}
