"""The engine as a step machine: events, control between steps, live edits, inspection."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from unlearnscope.control import Inspect, Pause, Stop
from unlearnscope.events import (
    ErrorEvent,
    FramesEvent,
    Measurement,
    RunFinished,
    SampleReport,
    ScheduleEdit,
    StatusEvent,
    StepMetrics,
)
from unlearnscope.ml.checkpoints import FileModelStore
from unlearnscope.ml.engine import Engine
from unlearnscope.presets import preset_config
from unlearnscope.states import RunStatus


def make_engine(cache: Path, **overrides: Any) -> tuple[Engine, list[Any]]:
    events: list[Any] = []  # the events of every type (their own fields)
    engine = Engine(
        preset_config("tiny", overrides),
        events.append,
        device="cpu",
        store=FileModelStore(cache),
    )
    return engine, events


def of_type(events: list[Any], cls: type) -> list:
    return [e for e in events if isinstance(e, cls)]


def test_a_run_emits_numbered_events_in_order(model_cache: Path) -> None:
    engine, events = make_engine(model_cache)
    assert engine.run() is RunStatus.COMPLETED
    assert [e.seq for e in events] == list(range(1, len(events) + 1))
    types = [e.type for e in events]
    assert types[0] == "status" and events[0].status == "preparing"
    assert types.index("run_started") < types.index("probes") < types.index("step")
    assert types[-2:] == ["run_finished", "status"] and events[-1].status == "completed"
    steps = of_type(events, StepMetrics)
    assert [s.step for s in steps] == list(range(1, 9))
    assert [s.kind for s in steps] == ["ascent"] * 4 + ["recovery"] * 4
    assert [e.label for e in events if e.type == "evaluation"] == [
        "before",
        "phase 1 (ascent)",
        "phase 2 (recovery)",
    ]
    assert all(e.t > 0 for e in events)


def test_frames_hold_one_map_per_probe_and_variant(model_cache: Path) -> None:
    engine, events = make_engine(model_cache)
    engine.run()
    frames = of_type(events, FramesEvent)
    assert [f.step for f in frames] == list(range(0, 9))  # step 0 = before unlearning
    f = frames[-1]
    maps = np.frombuffer(f.maps, np.uint8).reshape(f.count, 2, f.size, f.size)
    assert f.count == 4 and f.size == 32 and maps.max() > 0
    assert len(f.preds) == len(f.confs) == len(f.tars) == 4
    assert all(t is not None and t >= 0 for t in f.tars)  # BadNets has a mask: TAR defined
    assert not np.array_equal(
        np.frombuffer(frames[0].maps, np.uint8), np.frombuffer(f.maps, np.uint8)
    ), "heatmaps should change while the model unlearns"


def test_pause_holds_the_step_count_and_resume_continues(model_cache: Path) -> None:
    engine, events = make_engine(model_cache)
    engine.prepare()
    assert engine.step() and engine.step_count == 1
    engine.handle({"op": "pause"})
    assert engine.state is RunStatus.PAUSED
    assert engine.step() is False and engine.step_count == 1
    engine.handle({"op": "resume"})
    assert engine.step() and engine.step_count == 2
    statuses = [e.status for e in of_type(events, StatusEvent)]
    assert statuses[-3:] == ["running", "paused", "running"]


def test_stop_ends_the_run_between_steps(model_cache: Path) -> None:
    engine, events = make_engine(model_cache)
    engine.prepare()
    engine.step()
    engine.handle({"op": "stop"})
    assert engine.state is RunStatus.STOPPED
    assert engine.step() is False and engine.step_count == 1
    assert events[-1].status == "stopped"
    assert not of_type(events, RunFinished)


def test_stop_during_preparation_is_immediate(model_cache: Path) -> None:
    engine, events = make_engine(model_cache)
    assert engine.run(lambda block: [{"op": "stop"}]) is RunStatus.STOPPED
    assert not of_type(events, StepMetrics)


def test_live_edit_extends_a_future_phase_and_is_logged(model_cache: Path) -> None:
    engine, events = make_engine(model_cache)
    engine.prepare()
    engine.step()
    new = [p.model_dump() for p in engine.schedule]
    new[1]["steps"] = 6
    engine.handle({"op": "edit_schedule", "request_id": "e1", "schedule": new})
    edit = of_type(events, ScheduleEdit)[-1]
    assert edit.accepted and edit.request_id == "e1" and edit.step == 1
    while engine.step():
        pass
    assert engine.step_count == 10
    assert len([s for s in of_type(events, StepMetrics) if s.kind == "recovery"]) == 6


def test_edit_touching_the_past_is_refused_and_the_run_goes_on(model_cache: Path) -> None:
    engine, events = make_engine(model_cache)
    engine.prepare()
    for _ in range(5):  # into phase 2
        engine.step()
    before = list(engine.schedule)
    bad = [p.model_dump() for p in engine.schedule]
    bad[0]["lr"] = 0.5
    engine.handle({"op": "edit_schedule", "request_id": "e2", "schedule": bad})
    edit = of_type(events, ScheduleEdit)[-1]
    assert not edit.accepted and "already over" in edit.reason
    assert engine.schedule == before
    while engine.step():
        pass
    assert engine.state is RunStatus.COMPLETED and engine.step_count == 8


def test_edit_current_lr_and_end_phase_now(model_cache: Path) -> None:
    engine, events = make_engine(model_cache)
    engine.prepare()
    engine.step()
    engine.step()
    new = [p.model_dump() for p in engine.schedule]
    new[0]["steps"] = 2  # end the ascent here
    new[1]["lr"] = 0.003
    engine.handle({"op": "edit_schedule", "schedule": new})
    assert engine.phase_index == 1
    engine.step()
    last = of_type(events, StepMetrics)[-1]
    assert last.kind == "recovery" and last.lr == 0.003


def test_inspect_sample_answers_between_steps(model_cache: Path) -> None:
    engine, events = make_engine(model_cache)
    engine.prepare()
    engine.step()
    engine.handle({"op": "pause"})
    engine.handle({"op": "inspect", "request_id": "s1", "index": 3})
    report = of_type(events, SampleReport)[-1]
    assert report.request_id == "s1" and report.index == 3 and report.step == 1
    assert len(report.images) == 2 * 32 * 32 * 3
    assert set(report.maps["triggered"]) == {"predicted", "true", "target"}
    assert len(report.maps["clean"]["true"]) == 32 * 32
    assert np.allclose([sum(p) for p in report.probs], 1.0, atol=1e-4)
    region = np.frombuffer(report.region or b"", np.uint8).reshape(32, 32)  # the patch
    assert region.sum() == 9 and report.tar is not None
    engine.handle({"op": "inspect", "request_id": "s2", "index": 10**6})
    err = of_type(events, ErrorEvent)[-1]
    assert err.request_id == "s2" and not err.fatal and "outside the test split" in err.message
    assert engine.state is RunStatus.PAUSED


def test_early_stop_ends_ascent_when_asr_falls(model_cache: Path) -> None:
    schedule = [
        {"kind": "ascent", "steps": 50, "lr": 0.05, "batch_size": 16, "stop_asr_below": 50.0},
        {"kind": "recovery", "steps": 2, "lr": 0.01, "batch_size": 16},
    ]
    engine, events = make_engine(model_cache, schedule=schedule)
    engine.run()
    ends = [e for e in events if e.type == "phase_end"]
    assert ends[0].reason == "early_stop" and ends[0].step < 50
    assert ends[0].steps == ends[0].step and ends[0].threshold == 50.0
    stop = ends[0].step
    at_stop = [m for m in of_type(events, Measurement) if m.step == stop and m.asr is not None]
    assert at_stop and at_stop[-1].asr == ends[0].asr and ends[0].asr < 50.0


def test_a_failing_run_says_why(model_cache: Path, tmp_path: Path) -> None:
    engine, events = make_engine(
        model_cache, data={"name": "imagefolder", "root": str(tmp_path / "nowhere")}
    )
    assert engine.run() is RunStatus.FAILED
    err = of_type(events, ErrorEvent)[-1]
    assert err.fatal and "nowhere" in err.message and err.traceback
    assert events[-1].status == "failed"


def test_the_engine_writes_no_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HOME", str(tmp_path))
    events: list[Any] = []  # the events of every type (their own fields)
    engine = Engine(preset_config("tiny"), events.append, device="cpu")  # no store, no cache
    assert engine.run() is RunStatus.COMPLETED
    assert os.listdir(tmp_path) == []


def test_cam_class_true_explains_each_images_true_class(model_cache: Path) -> None:
    engine, _ = make_engine(model_cache, monitor={"cam_class": "true"})
    engine.prepare()
    m = engine.monitor
    assert m is not None
    seen: list = []
    original = m._classes
    m._classes = lambda labels, n: seen.append(labels) or original(labels, n)  # type: ignore
    m.cam_pass(engine.model, frames=True, tar=True)
    labels = seen[-1]
    assert labels[: 2 * len(m.probe_idx)].tolist() == m.probe_labels.repeat_interleave(2).tolist()
    assert labels[2 * len(m.probe_idx) :].tolist() == m._tar_y.tolist()
    assert (labels[2 * len(m.probe_idx) :] != engine.config.attack.target_class).all()


def test_control_messages_are_typed_and_unknown_ones_are_refused(model_cache: Path) -> None:
    engine, events = make_engine(model_cache)
    engine.prepare()
    engine.handle(Pause(request_id="p1"))
    assert engine.state is RunStatus.PAUSED
    engine.handle({"op": "pause", "request_id": "p2"})  # a plain dict reads the same
    refused = of_type(events, ErrorEvent)[-1]
    assert refused.request_id == "p2" and "cannot pause a run that is paused" in refused.message
    engine.handle({"op": "explode"})
    assert "unknown control message 'explode'" in of_type(events, ErrorEvent)[-1].message
    engine.handle(Inspect(request_id="i1", index=0))
    assert of_type(events, SampleReport)[-1].request_id == "i1"
    engine.handle(Stop())
    assert engine.state is RunStatus.STOPPED
