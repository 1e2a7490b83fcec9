// The HTTP API (see /docs). Every failure becomes an ApiError whose `detail` says what to
// do; 422 answers also carry `errors` ("field.path: message" lines) and `fields`.

import { decodeMessage } from "./wire.js";

export class ApiError extends Error {
  constructor(status, body, fallback) {
    const detail = (body && body.detail) || fallback || `the server answered ${status}`;
    super(typeof detail === "string" ? detail : JSON.stringify(detail));
    this.status = status;
    this.body = body || {};
    this.detail = this.message;
    this.errors = this.body.errors || [];
    this.fields = this.body.fields || [];
  }
}

const UNREACHABLE =
  "cannot reach the UnlearnScope server: is `unlearnscope serve` still running? " +
  "Start it again, then reload this page";

async function request(method, path, { json, binary = false } = {}) {
  let response;
  try {
    response = await fetch(path, {
      method,
      headers: json === undefined ? {} : { "content-type": "application/json" },
      body: json === undefined ? undefined : JSON.stringify(json),
    });
  } catch {
    throw new ApiError(0, null, UNREACHABLE);
  }
  if (!response.ok) {
    let body = null;
    try {
      body = await response.json();
    } catch {
      body = null;
    }
    throw new ApiError(response.status, body, `${method} ${path} failed (${response.status})`);
  }
  if (response.status === 204) return null;
  if (binary) return { buffer: await response.arrayBuffer(), headers: response.headers };
  return { body: await response.json(), status: response.status };
}

const enc = encodeURIComponent;
let optionsPromise = null;

export const api = {
  health: async () => (await request("GET", "/api/health")).body,
  /** Form choices, presets and the RunConfig JSON schema (fetched once). */
  options() {
    optionsPromise ??= request("GET", "/api/options")
      .then((r) => r.body)
      .catch((err) => {
        optionsPromise = null;
        throw err;
      });
    return optionsPromise;
  },
  getRun: async (id) => (await request("GET", `/api/runs/${enc(id)}`)).body,
  /** Runs, newest first (their rows with configs). */
  listRuns: async (limit = 200) => (await request("GET", `/api/runs?limit=${enc(limit)}`)).body,
  createRun: async (config, preset) => {
    const query = preset ? `?preset=${enc(preset)}` : "";
    return (await request("POST", `/api/runs${query}`, { json: config })).body;
  },
  deleteRun: (id) => request("DELETE", `/api/runs/${enc(id)}`),
  /** op: pause | resume | stop. Answer {op, applied, status, step, message}. */
  control: async (id, op) => (await request("POST", `/api/runs/${enc(id)}/${op}`)).body,
  editSchedule: async (id, schedule) =>
    (await request("PATCH", `/api/runs/${enc(id)}/schedule`, { json: { schedule } })).body,
  setMonitorBudget: async (id, budget) =>
    (await request("PATCH", `/api/runs/${enc(id)}/monitor`, { json: { budget } })).body,
  /** A test sample under the run's live (or saved) model, as a decoded binary report. */
  async sample(id, index) {
    const { buffer } = await request(
      "GET",
      `/api/runs/${enc(id)}/samples/${enc(index)}?format=binary`,
      { binary: true },
    );
    return decodeMessage(buffer);
  },
  /** The backdoor-connected path: measured now by a running or paused run ("live"), else
   * the last one the run measured ("stored"). {run_id, source, ...the path event}. */
  path: async (id) => (await request("POST", `/api/runs/${enc(id)}/path`)).body,
  /** The heatmap frame at a step (when the live stream skipped it): header + raw maps. */
  async frame(id, step) {
    const meta = (await request("GET", `/api/runs/${enc(id)}/frames?step=${enc(step)}`)).body;
    const { buffer } = await request("GET", meta.maps_url, { binary: true });
    return { meta, maps: new Uint8Array(buffer) };
  },
  /** A page of a run's stored events after `after`, in seq order, without their bytes
   * (an event with bytes lists its `parts` and gives its `bytes_url`). */
  events: async (id, after = 0, limit = 10000) =>
    (await request("GET", `/api/runs/${enc(id)}/events?after=${enc(after)}&limit=${enc(limit)}`)).body,
  /** The raw bytes of one stored event (its `bytes_url`), as an ArrayBuffer. */
  eventBytes: async (url) => (await request("GET", url, { binary: true })).buffer,
  /** Many heatmap frames' raw maps in one binary answer, after seq `after` (GET
   * /frames/maps): header.frames [[seq, step]], part String(seq) each, header.more. */
  frameMaps: async (id, after = 0) =>
    (await request("GET", `/api/runs/${enc(id)}/frames/maps?after=${enc(after)}`, { binary: true })).buffer,
  exportUrl: (id) => `/api/runs/${enc(id)}/export`,
  /** Diffs, labels, seed groups and headlines of 2..12 runs (the compare view). */
  compare: async (ids) => (await request("GET", `/api/compare?ids=${ids.map(enc).join(",")}`)).body,
  /** Without a key: the backdoored models runs unlearned; with one: its ranked defences. */
  leaderboard: async (key) =>
    (await request("GET", key ? `/api/leaderboard?model_key=${enc(key)}` : "/api/leaderboard")).body,
  createSweep: async (spec) => (await request("POST", "/api/sweeps", { json: spec })).body,
  sweeps: async () => (await request("GET", "/api/sweeps")).body,
  sweep: async (id) => (await request("GET", `/api/sweeps/${enc(id)}`)).body,
  stopSweep: async (id) => (await request("POST", `/api/sweeps/${enc(id)}/stop`)).body,
  /** Load a run's model and classify a sample (POST /api/check): what was found. */
  checkModel: async (config) => (await request("POST", "/api/check", { json: config })).body,
  uploads: async () => (await request("GET", "/api/files")).body,
  uploadFile,
};

/**
 * Upload a file (POST /api/files, multipart) with progress: onProgress(sent, total).
 * XMLHttpRequest, as fetch reports no upload progress. Resolves to the stored upload.
 */
function uploadFile(file, onProgress = () => {}) {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open("POST", "/api/files");
    xhr.responseType = "json";
    xhr.upload.onprogress = (e) => onProgress(e.loaded, e.lengthComputable ? e.total : file.size);
    xhr.onload = () => {
      if (xhr.status >= 200 && xhr.status < 300) resolve(xhr.response);
      else reject(new ApiError(xhr.status, xhr.response, `the upload failed (${xhr.status})`));
    };
    xhr.onerror = () => reject(new ApiError(0, null, UNREACHABLE));
    const form = new FormData();
    form.append("file", file, file.name);
    xhr.send(form);
  });
}

/** "ws://host/api/..." for a path on this server. */
export function wsUrl(path) {
  const scheme = location.protocol === "https:" ? "wss:" : "ws:";
  return `${scheme}//${location.host}${path}`;
}
