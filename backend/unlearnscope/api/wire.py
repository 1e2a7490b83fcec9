"""Events as WebSocket messages: JSON text for scalars, binary frames for bytes.

A text message is the event's JSON with `run_id` added. An event with byte fields
(`probes`, `frames`, `sample`) is one binary message, laid out as in `storage.codec`:

    [uint32 big-endian N] [N bytes UTF-8 JSON header] [raw parts, in header["parts"] order]

Encoded once per event (in the event thread), then shared by every client.
"""

from __future__ import annotations

import json
from typing import Any

from ..events import EventBase
from ..states import TERMINAL_STATUSES
from ..storage.codec import pack_frame, split_event
from ..storage.runs import StoredEvent
from .hub import Outgoing

TERMINAL = {s.value for s in TERMINAL_STATUSES}  # a status event that ends the stream


def encode_event(run_id: str, event: EventBase) -> Outgoing:
    header, parts = split_event(event)
    blob = b"".join(data for _, data in parts) if parts else None
    return _encode(run_id, header, blob)


def encode_stored(run_id: str, stored: StoredEvent) -> Outgoing:
    return _encode(run_id, dict(stored.header), stored.blob)


def _encode(run_id: str, header: dict[str, Any], blob: bytes | None) -> Outgoing:
    header["run_id"] = run_id
    kind = header.get("type", "")
    data: str | bytes
    if header.get("parts"):
        data = pack_frame(header, [("bytes", blob or b"")])
    else:
        data = json.dumps(header, separators=(",", ":"))
    return Outgoing(
        data,
        seq=int(header.get("seq", 0)),
        step=header.get("step"),
        run_id=run_id,
        droppable=kind == "frames",
        terminal=kind == "status" and header.get("status") in TERMINAL,
    )
