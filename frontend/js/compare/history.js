// A compared run's recorded history over HTTP: its stored events a page at a time (GET
// /api/runs/{id}/events), not one WebSocket message per event. Twelve 2,000-step runs are
// about 28,000 messages and 29 MB with every heatmap frame, which the server sends one by
// one; as twelve JSON pages they arrive together, and the view draws once. Heatmap frames
// come without their maps, which follow a few megabytes at a time (GET /frames/maps), so
// the slider then finds every frame in memory; the events whose bytes the view needs
// (the probe images) fetch theirs. The run's stream then starts after the last seq
// applied, for whatever follows (a live run's next steps).

import { api } from "../core/api.js";
import { unpackFrame, withParts } from "../core/wire.js";

export const HISTORY_PAGE = 10000; // events per request (the API's most)

/** Run `id`'s first page of events: the one js/prefetch.js asked for as the page opened
 * (once), else a request now; a failed early answer is asked for again. */
export function firstPage(id) {
  const early = typeof window === "undefined" ? null : window.unlearnscopePrefetch?.take(id);
  return early ? early.catch(() => api.events(id, 0, HISTORY_PAGE)) : api.events(id, 0, HISTORY_PAGE);
}

// Heatmap maps read ahead per run (all of a 2,000-step run's at 32 px: 1.6 MB); the
// frames past it are fetched when the slider shows them.
export const MAPS_BUDGET = 32 * 1024 * 1024;

/**
 * Apply every stored event of `model`'s run to it, in seq order, and return the last seq
 * applied (0: none). A request that fails ends the loading there: the stream, started
 * after the returned seq, sends the rest, so nothing is lost or applied twice.
 */
export async function loadHistory(model, { page = HISTORY_PAGE, first = null } = {}) {
  let after = 0;
  try {
    for (;;) {
      // `first`: the first page, already asked for (while the view asked for the runs)
      const { events } = await (after === 0 && first ? first : api.events(model.id, after, page));
      const bytes = await Promise.all(events.map((e) => (needsBytes(e) ? api.eventBytes(e.bytes_url) : null)));
      for (let i = 0; i < events.length; i++) {
        model.apply(bytes[i] ? withParts(events[i], bytes[i]) : events[i]);
        after = events[i].seq;
      }
      if (events.length < page) return after;
    }
  } catch (err) {
    console.warn(`run ${model.id}: history over HTTP stopped after seq ${after}; the stream sends the rest`, err);
    return after;
  }
}

/** Heatmap frames are fetched when shown; any other event's bytes now. */
function needsBytes(e) {
  return Boolean(e.parts?.length && e.bytes_url && e.type !== "frames");
}

/**
 * The maps of the frames the history listed, up to `budget` bytes; the number of frames
 * that got theirs. A frame that already has maps (from the live stream) or was skipped
 * by it (fetched when shown, with its predictions) is left as it is.
 */
export async function loadFrameMaps(model, { budget = MAPS_BUDGET } = {}) {
  let after = 0;
  let total = 0;
  let got = 0;
  for (;;) {
    const { header, parts } = unpackFrame(await api.frameMaps(model.id, after));
    for (const [seq, step] of header.frames) {
      const frame = model.frames.get(step);
      const maps = parts[String(seq)];
      if (frame && frame.seq === seq && !frame.maps && !frame.missing) {
        frame.maps = maps;
        model.framesWithMaps += 1;
        got += 1;
      }
      total += maps.byteLength;
      after = seq;
    }
    if (!header.more || total >= budget) return got;
  }
}
