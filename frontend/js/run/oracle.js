// The oracle twin of a run whose forget set a detection phase found: the same settings,
// with the truly poisoned samples handed to the phases instead (defense.oracle on) and no
// detection phases. Side by side in the compare view they show what an imperfect
// detection costs. Only where the truth exists (a backdoor planted here, or a
// BackdoorBench file).

import { api } from "../core/api.js";
import { phaseKind } from "../core/vocab.js";

const detects = (phase) => Boolean(phaseKind(phase.kind)?.finds_forget_set);

/** The twin's config: oracle on, detection phases left out, named after the run. */
export function twinConfig(config) {
  return {
    ...config,
    name: `${config.name} (oracle forget set)`.slice(0, 100),
    defense: { ...config.defense, oracle: "on" },
    schedule: config.schedule.filter((p) => !detects(p)),
  };
}

/** What must agree for two runs to be twins (the name and the oracle aside). */
function key(config) {
  return JSON.stringify({
    ...config,
    name: null,
    defense: { ...config.defense, oracle: null },
    schedule: config.schedule.filter((p) => !detects(p)),
  });
}

const usesOracle = (config) =>
  config.defense?.oracle === "on" || (config.defense?.oracle === "auto" && (config.model?.source || "train") === "train");

/** The newest run that is this run's oracle twin, or null. */
export async function findTwin(model) {
  const mine = key(model.config);
  const rows = await api.listRuns();
  return rows.find((r) => r.id !== model.id && r.config && usesOracle(r.config) && key(r.config) === mine) || null;
}

/** Start the twin; its id. */
export async function startTwin(model) {
  const row = await api.createRun(twinConfig(model.config));
  return row.id;
}
