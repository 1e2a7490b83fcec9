"""The run repository: events in, the same history out; run rows follow the events."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from unlearnscope.events import (
    FramesEvent,
    ProbesEvent,
    ScheduleEdit,
    StatusEvent,
    StepMetrics,
)
from unlearnscope.presets import preset_config
from unlearnscope.states import RunStatus
from unlearnscope.storage.artifacts import ArtifactFiles
from unlearnscope.storage.db import Database
from unlearnscope.storage.runs import RunStore


@pytest.fixture
def store(db_url: str) -> Iterator[RunStore]:
    """Every test here runs on SQLite and on a real PostgreSQL server (tests/conftest.py)."""
    db = Database(db_url)
    db.create_all()
    yield RunStore(db)
    db.dispose()


def _step(seq: int, step: int) -> StepMetrics:
    return StepMetrics(
        seq=seq,
        t=float(seq),
        step=step,
        phase_index=0,
        phase_step=step,
        kind="ascent",
        loss=-1.0,
        ce_loss=1.0,
        ewc_penalty=0.0,
        lr=0.01,
        grad_norm=1.0,
        step_time=0.01,
        monitor_time=0.01,
    )


def _frames(seq: int, step: int, fill: int) -> FramesEvent:
    return FramesEvent(
        seq=seq,
        t=float(seq),
        step=step,
        size=2,
        count=1,
        maps=bytes([fill]) * 8,
        preds=[[1, 0]],
        confs=[[0.5, 0.5]],
        tars=[1.0],
    )


def test_events_round_trip_and_update_the_run(store: RunStore) -> None:
    config = preset_config("tiny")
    store.create("r1", config, RunStatus.QUEUED)
    events = [
        StatusEvent(seq=1, t=1.0, status="preparing"),
        ProbesEvent(seq=2, t=2.0, indices=[4], labels=[1], size=2, images=b"\x09" * 24),
        StatusEvent(seq=3, t=3.0, status="running"),
        _step(4, 1),
        _frames(5, 1, 7),
        _step(6, 2),
        _frames(7, 2, 8),
    ]
    run, changed = store.append("r1", events[:3])
    assert changed and run.status == "running" and run.started_at is not None
    run, changed = store.append("r1", events[3:])
    assert not changed and run.step == 2 and run.last_seq == 7

    back = [s.event() for s in store.events_after("r1", 0)]
    assert back == events  # frames get their maps back from the frames table
    assert [s.seq for s in store.events_after("r1", 4)] == [5, 6, 7]
    assert [s.seq for s in store.events_after("r1", 0, types=["step"])] == [4, 6]
    assert store.last_seq("r1") == 7


def test_frame_at_gives_the_newest_frame_at_or_before_a_step(store: RunStore) -> None:
    store.create("r1", preset_config("tiny"), RunStatus.RUNNING)
    store.append("r1", [_frames(1, 0, 1), _frames(2, 2, 2), _frames(3, 4, 3)])
    assert store.frame_steps("r1") == [0, 2, 4]
    at = {step: store.frame_at("r1", step) for step in (3, 4, 99)}
    assert at[3] is not None and at[3].maps == bytes([2]) * 8
    assert at[4] is not None and at[4].step == 4
    assert at[99] is not None and at[99].step == 4
    store.create("r2", preset_config("tiny"), RunStatus.RUNNING)
    assert store.frame_at("r2", 5) is None


def test_accepted_schedule_edit_changes_schedule_and_total(store: RunStore) -> None:
    config = preset_config("tiny")
    store.create("r1", config, RunStatus.RUNNING)
    new = [p.model_dump() for p in config.schedule]
    new[-1]["steps"] += 3
    refused = ScheduleEdit(seq=1, t=0.0, accepted=False, step=2, reason="no", schedule=new)
    run, _ = store.append("r1", [refused])
    assert run.total_steps == config.total_steps()
    run, _ = store.append("r1", [ScheduleEdit(seq=2, t=0.0, accepted=True, step=2, schedule=new)])
    assert run.total_steps == config.total_steps() + 3 and run.schedule == new


def test_failed_status_records_the_reason_and_terminal_statuses_finish(store: RunStore) -> None:
    store.create("r1", preset_config("tiny"), RunStatus.QUEUED)
    run, _ = store.append("r1", [StatusEvent(seq=1, t=0.0, status="failed", message="boom")])
    assert run.status == "failed" and run.error == "boom" and run.finished_at is not None


def test_ids_with_status_delete_and_artifacts(store: RunStore, tmp_path: Path) -> None:
    config = preset_config("tiny")
    store.create("a", config, RunStatus.RUNNING)
    store.create("b", config, RunStatus.QUEUED)
    store.create("c", config, RunStatus.COMPLETED)
    assert store.ids_with_status([RunStatus.RUNNING, RunStatus.PAUSED]) == ["a"]
    store.put_artifact("a", "model", "a/model.safetensors", 10)
    store.put_artifact("a", "model", "a/model.safetensors", 20)  # replaces
    assert [x.size for x in store.artifacts("a")] == [20]
    store.append("a", [_frames(1, 0, 1)])
    store.delete("a")
    assert store.get("a") is None and store.events_after("a") == [] and store.artifacts("a") == []
    assert {r.id for r in store.list()} == {"b", "c"}


def test_artifact_paths_stay_inside_the_folder(tmp_path: Path) -> None:
    files = ArtifactFiles(tmp_path)
    assert files.model_path("abc123").parent == tmp_path / "abc123"
    with pytest.raises(ValueError):
        files.run_dir("../etc")
    with pytest.raises(ValueError):
        files.resolve("../../etc/passwd")


def test_a_run_stored_under_a_former_kind_name_reads_under_the_current_one(
    store: RunStore,
) -> None:
    """Neural Cleanse's kind was `invert` before it was `nc`: a database written then
    (config, schedule and event log say `invert`) replays, compares and re-runs as `nc`."""
    from sqlalchemy import text, update

    from unlearnscope.config import RunConfig
    from unlearnscope.events import PhaseStart
    from unlearnscope.storage.tables import EventRow, RunRow

    config = preset_config("demo-nc")
    store.create("old", config, RunStatus.QUEUED)
    store.append("old", [PhaseStart(seq=1, t=1.0, phase_index=0, kind="nc", step=0,
                                    planned_steps=3)])
    old_config = config.model_dump(mode="json")
    old_config["schedule"][0]["kind"] = "invert"
    old_phase = {**old_config["schedule"][0]}
    with store.db.new_session() as s:  # written as the older version wrote it
        s.execute(update(RunRow).values(config=old_config, schedule=[old_phase]))
        s.execute(update(EventRow).values(payload={**store.headers("old", ["phase_start"])[0],
                                                   "kind": "invert"}))
        s.commit()
        # the stored JSON as text, as the database holds it (no conversion on read)
        stored = "SELECT CAST(r.schedule AS TEXT), CAST(e.payload AS TEXT) FROM runs r, events e"
        raw = s.execute(text(stored)).all()
    assert all('"invert"' in str(v) for row in raw for v in row)  # the rows hold the old name
    row = store.get("old")
    assert row is not None
    assert row.config["schedule"][0]["kind"] == "nc" and row.schedule[0]["kind"] == "nc"
    assert RunConfig.model_validate(row.config) == config
    assert store.headers("old", ["phase_start"])[0]["kind"] == "nc"
    (event,) = store.load_events("old")
    assert isinstance(event, PhaseStart) and event.kind == "nc"

