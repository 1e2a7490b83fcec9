// The server's vocabularies, from GET /api/options: run states, the phase-kind registry
// (in its order) and the WebSocket close codes. main.js loads them once, before the first
// view; the page keeps no lists of its own.

const vocab = {
  states: { all: [], active: [], stepping: [], live: [], terminal: [] },
  phaseKinds: [], // [{kind, label, description, uses_forget_set}]
  closeCodes: {}, // {normal: 1000, lagging: 4001, gone: 4004, ...}
};
let sets = { live: new Set(), active: new Set(), terminal: new Set() };

/** Take the vocabularies from an /api/options answer. */
export function setVocab(options) {
  vocab.states = options.states;
  vocab.phaseKinds = options.phase_kinds;
  vocab.closeCodes = options.close_codes;
  sets = {
    live: new Set(options.states.live),
    active: new Set(options.states.active),
    terminal: new Set(options.states.terminal),
  };
}

/** The run has not ended: queued, or a worker holds it. */
export const isLive = (status) => sets.live.has(status);
/** A worker holds the run (preparing, running or paused). */
export const isActive = (status) => sets.active.has(status);
/** The run's worker is between steps and answers requests (running or paused). */
export const isStepping = (status) => vocab.states.stepping.includes(status);
/** Nothing more happens to the run. */
export const isTerminal = (status) => sets.terminal.has(status);

export const phaseKinds = () => vocab.phaseKinds;
export const phaseKind = (kind) => vocab.phaseKinds.find((k) => k.kind === kind) || null;
/** Where `kind` stands in the registry (-1 when unknown): picks its colour. */
export const phaseKindIndex = (kind) => vocab.phaseKinds.findIndex((k) => k.kind === kind);
export const closeCode = (name) => vocab.closeCodes[name];
