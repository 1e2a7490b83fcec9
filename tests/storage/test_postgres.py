"""What a real PostgreSQL server is stricter about than SQLite, on both (tests/conftest.py
`db_url`): non-finite numbers in JSON, long texts in sized columns, big blobs, time zones,
and several runs writing at once while requests read."""

from __future__ import annotations

import math
import threading
from collections.abc import Iterator
from datetime import timezone
from typing import Any

import pytest

from unlearnscope.events import FramesEvent, RunStarted, StatusEvent, StepMetrics
from unlearnscope.presets import preset_config
from unlearnscope.states import RunStatus
from unlearnscope.storage.db import Database, make_engine
from unlearnscope.storage.runs import RunStore
from unlearnscope.storage.tables import DEVICE_CHARS


@pytest.fixture
def store(db_url: str) -> Iterator[RunStore]:
    db = Database(db_url)
    db.create_all()
    yield RunStore(db)
    db.dispose()


def _step(seq: int, step: int, loss: float = -1.0) -> StepMetrics:
    return StepMetrics(
        seq=seq, t=float(seq), step=step, phase_index=0, phase_step=step, kind="ascent",
        loss=loss, ce_loss=1.0, ewc_penalty=0.0, lr=0.01, grad_norm=1.0, step_time=0.01,
        monitor_time=0.01,
    )  # fmt: skip


def test_non_finite_numbers_survive_json_columns(store: RunStore) -> None:
    store.create("r1", preset_config("tiny"), RunStatus.RUNNING)
    sent = [_step(1, 1, math.nan), _step(2, 2, math.inf), _step(3, 3, -math.inf)]
    store.append("r1", sent)
    back: list[Any] = [s.event() for s in store.events_after("r1")]
    assert math.isnan(back[0].loss) and back[1].loss == math.inf and back[2].loss == -math.inf


def test_a_long_device_text_is_cut_to_its_column_and_times_come_back_in_utc(
    store: RunStore,
) -> None:
    config = preset_config("tiny")
    store.create("r1", config, RunStatus.PREPARING)
    where = "cuda:0 on fd00:1234:5678:9abc:def0:1234:5678:9abc node 3f2a1b " + "x" * 80
    started = RunStarted(
        seq=2, t=2.0, device=where, model="small_cnn", n_params=1, dataset="shapes",
        classes=["a", "b"], target_class=0, total_steps=4, schedule=[], trigger_box=None,
        image_size=32,
    )  # fmt: skip
    run, _ = store.append("r1", [StatusEvent(seq=1, t=1.0, status="preparing"), started])
    assert run.device == where[:DEVICE_CHARS]
    row = store.get("r1")
    assert row is not None and row.device == where[:DEVICE_CHARS]
    assert row.created_at.tzinfo == timezone.utc and row.started_at is not None
    assert store.events_after("r1")[1].event() == started  # the event keeps it whole


def test_big_heatmap_blobs_round_trip(store: RunStore) -> None:
    store.create("r1", preset_config("tiny"), RunStatus.RUNNING)
    count, size = 16, 128
    maps = bytes(range(256)) * (count * 2 * size * size // 256)  # 512 KiB
    frames = FramesEvent(
        seq=1, t=1.0, step=0, size=size, count=count, maps=maps,
        preds=[[0, 0]] * count, confs=[[0.5, 0.5]] * count, tars=[1.0] * count,
    )  # fmt: skip
    store.append("r1", [frames])
    frame = store.frame_at("r1", 0)
    assert frame is not None and frame.maps == maps
    assert store.events_after("r1")[0].event() == frames


def test_several_runs_write_at_once_while_others_read(store: RunStore) -> None:
    runs, batches, per_batch = 6, 20, 5
    for r in range(runs):
        store.create(f"r{r}", preset_config("tiny"), RunStatus.RUNNING)
    errors: list[BaseException] = []

    def write(run_id: str) -> None:
        try:
            for b in range(batches):
                first = b * per_batch + 1
                store.append(run_id, [_step(first + i, first + i) for i in range(per_batch)])
        except BaseException as err:
            errors.append(err)

    def read() -> None:
        try:
            for _ in range(40):
                for r in range(runs):
                    seqs = [s.seq for s in store.events_after(f"r{r}")]
                    assert seqs == list(range(1, len(seqs) + 1))  # never a gap mid-batch
                store.list()
        except BaseException as err:
            errors.append(err)

    threads = [threading.Thread(target=write, args=(f"r{r}",)) for r in range(runs)]
    threads += [threading.Thread(target=read) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not errors, errors[0]
    for r in range(runs):
        row = store.get(f"r{r}")
        assert row is not None and row.last_seq == batches * per_batch == row.step
        assert store.last_seq(f"r{r}") == batches * per_batch


def test_a_plain_postgresql_url_uses_psycopg_3() -> None:
    engine = make_engine("postgresql://u:secret@db.example:5432/unlearnscope")
    assert engine.url.drivername == "postgresql+psycopg"
    assert engine.url.password == "secret" and engine.url.database == "unlearnscope"
    engine.dispose()
