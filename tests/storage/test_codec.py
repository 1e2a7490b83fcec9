"""Events with bytes survive the database and the WebSocket unchanged."""

from __future__ import annotations

import json
import math
from typing import Any

import pytest

from unlearnscope.events import FramesEvent, ProbesEvent, SampleReport, StepMetrics
from unlearnscope.storage.codec import join_event, pack_frame, split_event, unpack_frame


def _sample() -> SampleReport:
    maps = {
        v: {c: bytes([i]) * 16 for i, c in enumerate(("predicted", "true", "target"))}
        for v in ("clean", "triggered")
    }
    return SampleReport(
        seq=7,
        t=1.5,
        request_id="r1",
        index=3,
        step=2,
        label=1,
        target_class=0,
        size=4,
        images=bytes(range(96)),
        probs=[[0.5, 0.5], [0.1, 0.9]],
        maps=maps,
        tar=2.0,
    )


@pytest.mark.parametrize(
    "event",
    [
        FramesEvent(
            seq=3,
            t=1.0,
            step=1,
            size=2,
            count=1,
            maps=b"\x00\x01\x02\x03" * 2,
            preds=[[1, 0]],
            confs=[[0.5, 0.9]],
            tars=[3.0],
        ),
        ProbesEvent(seq=2, t=1.0, indices=[5], labels=[1], size=2, images=b"\x07" * 24),
        _sample(),
    ],
)
def test_split_then_join_gives_the_event_back(event) -> None:
    header, parts = split_event(event)
    assert "parts" in header and all(isinstance(d, bytes) for _, d in parts)
    json.dumps(header)  # the header is plain JSON: no bytes in it
    back = join_event(header, b"".join(d for _, d in parts))
    assert back == event


def test_binary_frame_is_length_prefixed_header_then_parts_in_order() -> None:
    event = _sample()
    header, parts = split_event(event)
    frame = pack_frame({**header, "run_id": "r"}, parts)
    n = int.from_bytes(frame[:4], "big")
    assert json.loads(frame[4 : 4 + n])["type"] == "sample"
    got_header, got = unpack_frame(frame)
    assert got_header["run_id"] == "r"
    assert list(got) == [
        "images",
        "maps.clean.predicted",
        "maps.clean.true",
        "maps.clean.target",
        "maps.triggered.predicted",
        "maps.triggered.true",
        "maps.triggered.target",
    ]
    assert got["images"] == event.images
    assert got["maps.triggered.true"] == event.maps["triggered"]["true"]


def test_non_finite_numbers_become_strict_json_and_come_back() -> None:
    event = StepMetrics(
        seq=1,
        t=0.0,
        step=1,
        phase_index=0,
        phase_step=1,
        kind="ascent",
        loss=float("nan"),
        ce_loss=float("inf"),
        ewc_penalty=0.0,
        lr=0.1,
        grad_norm=float("-inf"),
        step_time=0.0,
        monitor_time=0.0,
    )
    header, _ = split_event(event)
    text = json.dumps(header, allow_nan=False)  # raises on NaN: must not
    back: Any = join_event(json.loads(text), None)
    assert math.isnan(back.loss) and back.ce_loss == math.inf and back.grad_norm == -math.inf
