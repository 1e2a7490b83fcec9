"""Events with byte fields, split into a JSON header and raw byte parts, and back.

Shared by the database (header -> `events.payload`, parts joined -> a blob) and the
WebSocket (one binary frame per event). The parts of each event type, in order:

    probes  images                                   (P, 2, H, W, 3) uint8
    frames  maps                                     (P, 2, H, W) uint8
    sample  images, then maps.<variant>.<choice>     (2, H, W, 3), then (H, W) each,
            variants clean, triggered; choices predicted, true, target;
            then region (when it has one)            (H, W) uint8
    phase_visual  image (when it has one)            (H, W, 3) uint8

The header names them with their lengths: `"parts": [["maps", 8192], ...]`. Headers are
strict JSON: a non-finite float (a diverged loss) becomes the string "NaN", "Infinity" or
"-Infinity", which pydantic reads back as the float.

Binary frame layout (network byte order):

    [4 bytes: header length N, big-endian unsigned] [N bytes: UTF-8 JSON header]
    [the parts' bytes, concatenated in header order]
"""

from __future__ import annotations

import json
import math
import struct
from typing import Any

from ..events import (
    EVENT_ADAPTER,
    EventBase,
    FramesEvent,
    PhaseVisualEvent,
    ProbesEvent,
    SampleReport,
    TriggerFound,
)

VARIANTS = ("clean", "triggered")
CHOICES = ("predicted", "true", "target")
BINARY_TYPES = ("probes", "frames", "sample", "phase_visual", "trigger_found")
_LEN = struct.Struct(">I")

Parts = list[tuple[str, bytes]]


def has_bytes(event_type: str) -> bool:
    return event_type in BINARY_TYPES


def json_safe(value: Any) -> Any:
    """`value` with non-finite floats as strings, so that it is strict JSON."""
    if isinstance(value, float) and not math.isfinite(value):
        return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
    if isinstance(value, dict):
        return {k: json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(v) for v in value]
    return value


def split_event(event: EventBase) -> tuple[dict[str, Any], Parts]:
    """(JSON-able header without bytes, with "parts" names and lengths; the parts)."""
    parts: Parts = []
    if isinstance(event, ProbesEvent):
        header = event.model_dump(exclude={"images", "region"})
        parts = [("images", event.images)]
        if event.region is not None:
            parts.append(("region", event.region))
    elif isinstance(event, FramesEvent):
        header = event.model_dump(exclude={"maps"})
        parts = [("maps", event.maps)]
    elif isinstance(event, SampleReport):
        header = event.model_dump(exclude={"images", "maps", "region"})
        parts = [("images", event.images)]
        for variant in VARIANTS:
            for choice in CHOICES:
                data = event.maps.get(variant, {}).get(choice)
                if data is not None:
                    parts.append((f"maps.{variant}.{choice}", data))
        if event.region is not None:
            parts.append(("region", event.region))
    elif isinstance(event, PhaseVisualEvent):
        header = event.model_dump(exclude={"image"})
        header["image"] = None
        if event.image is not None:
            del header["image"]
            parts = [("image", event.image)]
    elif isinstance(event, TriggerFound):
        header = event.model_dump(exclude={"mask", "pattern"})
        if event.mask is not None and event.pattern is not None:
            parts = [("mask", event.mask), ("pattern", event.pattern)]
    else:
        header = event.model_dump()
    header = json_safe(header)
    if parts:
        header["parts"] = [[name, len(data)] for name, data in parts]
    return header, parts


def join_event(header: dict[str, Any], blob: bytes | None) -> EventBase:
    """The inverse of `split_event` (with the parts concatenated into `blob`)."""
    fields = {k: v for k, v in header.items() if k not in ("parts", "run_id")}
    offset = 0
    for name, length in header.get("parts", []):
        if blob is None:
            raise ValueError(f"event {header.get('seq')} lacks the bytes of {name!r}")
        data = blob[offset : offset + length]
        offset += length
        if name.startswith("maps.") and header.get("type") == "sample":
            _, variant, choice = name.split(".")
            fields.setdefault("maps", {}).setdefault(variant, {})[choice] = data
        else:
            fields[name] = data
    return EVENT_ADAPTER.validate_python(fields)


def pack_frame(header: dict[str, Any], parts: Parts) -> bytes:
    """One binary WebSocket frame: length-prefixed JSON header, then the raw parts."""
    head = json.dumps(header, separators=(",", ":")).encode()
    return b"".join([_LEN.pack(len(head)), head, *(data for _, data in parts)])


def unpack_frame(frame: bytes) -> tuple[dict[str, Any], dict[str, bytes]]:
    """(header, {part name: bytes}) of a binary frame; what a Python client does."""
    (n,) = _LEN.unpack_from(frame)
    header = json.loads(frame[4 : 4 + n])
    out, offset = {}, 4 + n
    for name, length in header.get("parts", []):
        out[name] = frame[offset : offset + length]
        offset += length
    if offset != len(frame):
        raise ValueError(f"binary frame holds {len(frame)} bytes, its header names {offset}")
    return header, out
