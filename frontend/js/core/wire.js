// Decoding of WebSocket / HTTP binary frames (see backend api/wire.py, storage/codec.py):
//   [uint32 big-endian N] [N bytes UTF-8 JSON header] [raw parts, in header.parts order]

const decoder = new TextDecoder();

/** ArrayBuffer -> {header, parts: {name: Uint8Array}} */
export function unpackFrame(buffer) {
  const view = new DataView(buffer);
  const n = view.getUint32(0, false);
  const header = JSON.parse(decoder.decode(new Uint8Array(buffer, 4, n)));
  const named = (header.parts || []).reduce((sum, [, length]) => sum + length, 4 + n);
  if (named !== buffer.byteLength) {
    throw new Error(`binary frame holds ${buffer.byteLength} bytes, its header names ${named}`);
  }
  const parts = {};
  let offset = 4 + n;
  for (const [name, length] of header.parts || []) {
    parts[name] = new Uint8Array(buffer, offset, length);
    offset += length;
  }
  return { header, parts };
}

/** A WebSocket message (text or ArrayBuffer) -> event object with byte fields attached. */
export function decodeMessage(data) {
  if (typeof data === "string") return JSON.parse(data);
  const { header, parts } = unpackFrame(data);
  const event = { ...header };
  for (const [name, bytes] of Object.entries(parts)) attachPart(event, name, bytes);
  return event;
}

/** A stored event's header (GET /api/runs/{id}/events) with its raw bytes (its
 * `bytes_url`: the parts concatenated in header.parts order) attached as a message has them. */
export function withParts(header, buffer) {
  const event = { ...header };
  let offset = 0;
  for (const [name, length] of header.parts || []) {
    if (offset + length > buffer.byteLength) throw new Error(`event ${header.seq}: its bytes end before part ${name}`);
    attachPart(event, name, new Uint8Array(buffer, offset, length));
    offset += length;
  }
  return event;
}

function attachPart(event, name, bytes) {
  if (name.startsWith("maps.")) {
    const [, variant, choice] = name.split(".");
    event.maps = event.maps || {};
    event.maps[variant] = event.maps[variant] || {};
    event.maps[variant][choice] = bytes;
  } else {
    event[name] = bytes;
  }
}
