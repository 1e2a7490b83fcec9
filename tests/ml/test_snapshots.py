"""The snapshot hand-off: complete snapshots only, newest first, kept ones never skipped."""

from __future__ import annotations

import threading

import torch
from torch import nn

from unlearnscope.ml.engine.snapshots import SlotState, SnapshotBuffer


def _model() -> nn.Module:
    return nn.Sequential(nn.Conv2d(3, 8, 3), nn.BatchNorm2d(8), nn.Flatten(), nn.Linear(8, 2))


def _fill(model: nn.Module, value: float) -> None:
    with torch.no_grad():
        for t in model.state_dict().values():
            t.fill_(value)


def test_a_reader_never_sees_a_half_written_snapshot() -> None:
    # The writer fills every tensor with the step number, one tensor at a time, and
    # publishes after each step; a torn snapshot would mix two step numbers.
    writer_model, reader_model = _model(), _model()
    buf = SnapshotBuffer(writer_model)
    seen: list[int] = []
    torn: list[set[float]] = []

    def read() -> None:
        while True:
            snap = buf.take(timeout=1.0)
            if snap is None:
                return
            step = snap.step
            buf.load_into(snap, reader_model)
            values = {float(v) for t in reader_model.state_dict().values() for v in t.flatten()}
            if values != {float(step)}:
                torn.append(values)
            seen.append(step)

    reader = threading.Thread(target=read)
    reader.start()
    for step in range(1, 400):
        _fill(writer_model, float(step))
        buf.publish(writer_model, step, phase_index=0)
    buf.close()
    reader.join(10)
    assert not reader.is_alive()
    assert not torn
    assert seen == sorted(seen) and seen[-1] == 399  # newest first, the last one always
    assert buf.published == 399 and buf.taken == len(seen)
    assert buf.taken + buf.skipped == buf.published


def test_the_newest_is_taken_and_older_ones_are_skipped() -> None:
    model = _model()
    buf = SnapshotBuffer(model, slots=3)
    for step in (1, 2, 3, 4):  # 4 snapshots into 3 slots: step 1 is overwritten
        buf.publish(model, step, 0)
    snap = buf.take(timeout=0)
    assert snap is not None and snap.step == 4
    buf.release(snap)
    assert buf.take(timeout=0) is None  # 2 and 3 were stale
    assert buf.skipped == 3


def test_kept_snapshots_are_measured_in_order_even_when_behind() -> None:
    model = _model()
    buf = SnapshotBuffer(model, slots=3)
    buf.publish(model, 5, 0, keep=True)
    buf.publish(model, 6, 0)
    buf.publish(model, 7, 0)
    buf.publish(model, 8, 0)  # overwrites the unkept 6, not the kept 5
    order = []
    while (snap := buf.take(timeout=0)) is not None:
        order.append(snap.step)
        buf.release(snap)
    assert order == [5, 8] and buf.dropped == 0


def test_a_slot_being_read_is_never_overwritten() -> None:
    model = _model()
    buf = SnapshotBuffer(model, slots=2)
    buf.publish(model, 1, 0)
    reading = buf.take(timeout=0)
    assert reading is not None and reading.state is SlotState.READING
    for step in range(2, 6):
        buf.publish(model, step, 0)
    assert reading.step == 1 and reading.state is SlotState.READING
