// WebSockets that come back by themselves: a run's event stream (resuming after the last
// seq it saw) and the run list. A dropped connection shows as "reconnecting" until the
// gap is filled again; nothing is called live before the server says the history is in.

import { wsUrl } from "./api.js";
import { closeCode, isTerminal } from "./vocab.js";
import { decodeMessage } from "./wire.js";

const BACKOFF_MS = [250, 500, 1000, 2000, 4000, 5000];

/** One WebSocket at a time, reopened after a drop with growing pauses. */
class Socket {
  constructor(url, handlers) {
    this.url = url; // () => string, so a reconnect can change ?after=
    this.handlers = handlers; // {message(data), opened(), dropped(code, reason) -> bool}
    this.ws = null;
    this.attempt = 0;
    this.timer = 0;
    this.closed = false;
  }

  open() {
    this.closed = false;
    const ws = new WebSocket(this.url());
    ws.binaryType = "arraybuffer";
    this.ws = ws;
    ws.onopen = () => this.handlers.opened?.();
    ws.onmessage = (m) => this.handlers.message(m.data);
    ws.onclose = (e) => {
      if (this.ws !== ws) return;
      this.ws = null;
      if (this.closed) return;
      if (this.handlers.dropped(e.code, e.reason)) this.retry();
    };
  }

  retry() {
    const delay = BACKOFF_MS[Math.min(this.attempt, BACKOFF_MS.length - 1)];
    this.attempt += 1;
    this.nextAt = Date.now() + delay;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.open(), delay);
  }

  healthy() {
    this.attempt = 0;
  }

  close() {
    this.closed = true;
    clearTimeout(this.timer);
    if (this.ws) this.ws.close(closeCode("normal") ?? 1000, "page left");
    this.ws = null;
  }
}

/**
 * A run's events: history first, then live. `onEvent(event)` gets each event once, in
 * seq order; `onState(state, info)` gets connecting | history | live | reconnecting |
 * ended | gone.
 */
export class RunStream {
  constructor(runId, { onEvent, onState, onSkipped }) {
    this.runId = runId;
    this.onEvent = onEvent;
    this.onState = onState;
    this.onSkipped = onSkipped || (() => {});
    this.lastSeq = 0;
    this.state = "connecting";
    this.sawEnd = false;
    this.socket = new Socket(
      () => wsUrl(`/api/runs/${encodeURIComponent(runId)}/stream?after=${this.lastSeq}`),
      {
        message: (data) => this.message(data),
        dropped: (code, reason) => this.dropped(code, reason),
      },
    );
  }

  start() {
    this.setState("connecting");
    this.socket.open();
  }

  close() {
    this.socket.close();
  }

  setState(state, info = {}) {
    this.state = state;
    this.onState(state, info);
  }

  message(data) {
    let event;
    try {
      event = decodeMessage(data);
    } catch (err) {
      console.error("undecodable message", err);
      return;
    }
    if (event.type === "history_end") {
      this.socket.healthy();
      if (isTerminal(event.status)) this.sawEnd = true;
      this.setState(this.sawEnd ? "ended" : "live", { seq: event.seq, status: event.status });
      return;
    }
    if (this.state === "connecting" || this.state === "reconnecting") this.setState("history");
    const seq = Number(event.seq || 0);
    if (seq && seq <= this.lastSeq) return; // already applied before a reconnect
    if (seq) this.lastSeq = seq;
    if (event.type === "skipped") {
      this.onSkipped(event);
      return;
    }
    if (event.type === "status" && isTerminal(event.status)) this.sawEnd = true;
    this.onEvent(event);
  }

  dropped(code, reason) {
    if (code === closeCode("gone")) {
      this.setState("gone", { reason: reason || "the run was deleted" });
      return false;
    }
    if (this.sawEnd) {
      this.setState("ended", { seq: this.lastSeq });
      return false;
    }
    const delay = BACKOFF_MS[Math.min(this.socket.attempt, BACKOFF_MS.length - 1)];
    this.setState("reconnecting", { code, reason, delay, after: this.lastSeq });
    return true;
  }
}

/** The run list: a full list on every (re)connect, then one message per change. */
export class RunListStream {
  constructor({ onList, onRun, onDeleted, onState }) {
    this.handlers = { onList, onRun, onDeleted, onState };
    this.socket = new Socket(() => wsUrl("/api/runs/stream"), {
      opened: () => {
        this.socket.healthy();
        onState("open");
      },
      message: (data) => this.message(data),
      dropped: () => {
        onState("reconnecting");
        return true;
      },
    });
  }

  start() {
    this.socket.open();
  }

  close() {
    this.socket.close();
  }

  message(data) {
    const msg = JSON.parse(data);
    if (msg.type === "runs") this.handlers.onList(msg.runs);
    else if (msg.type === "run") this.handlers.onRun(msg.run);
    else if (msg.type === "run_deleted") this.handlers.onDeleted(msg.id);
  }
}
