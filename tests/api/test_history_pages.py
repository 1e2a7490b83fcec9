"""A run's whole history in a few requests (what the compare view reads): the event log
as JSON, every heatmap frame's maps as one binary answer, paged by size. TestClient, runs
written into the store as synthetic event logs."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from live_server import app_service
from unlearnscope.api.app import create_app
from unlearnscope.api.routes import history
from unlearnscope.bench.synth import SynthRun, store_synth_run
from unlearnscope.presets import preset_config
from unlearnscope.settings import Settings
from unlearnscope.storage.codec import unpack_frame

STEPS = 40  # a frame every 5 steps: 9 frames of 3 probes at 8 px (384 bytes each)


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    settings = Settings(home=tmp_path, device="cpu", allowed_hosts=["testserver"])
    with TestClient(create_app(settings)) as c:
        spec = SynthRun(steps=STEPS, measure_every=4, frame_every=5, probes=3, size=8)
        store_synth_run(app_service(c).store, "r1", preset_config("tiny", {"name": "r1"}), spec)
        yield c


def test_the_event_log_in_one_answer_as_the_stream_has_it(client: TestClient) -> None:
    body = client.get("/api/runs/r1/events", params={"limit": 10_000}).json()
    events = body["events"]
    assert body["run_id"] == "r1" and body["after"] == 0 and body["last_seq"] == events[-1]["seq"]
    assert [e["seq"] for e in events] == list(range(1, len(events) + 1))
    assert sum(e["type"] == "step" for e in events) == STEPS
    step = next(e for e in events if e["type"] == "step")
    assert step["run_id"] == "r1" and isinstance(step["ce_loss"], float) and "t" in step
    frames = [e for e in events if e["type"] == "frames"]
    assert len(frames) == 1 + STEPS // 5 and all("maps" not in e for e in frames)
    assert frames[1]["bytes_url"] == f"/api/runs/r1/events/{frames[1]['seq']}/bytes"
    assert frames[1]["count"] == 3 and len(frames[1]["preds"]) == 3
    # a later page starts after the seq asked for
    later = client.get("/api/runs/r1/events", params={"after": 10, "limit": 5}).json()
    assert [e["seq"] for e in later["events"]] == [11, 12, 13, 14, 15]


def test_every_frames_maps_in_one_answer_equal_to_each_frames_own(client: TestClient) -> None:
    r = client.get("/api/runs/r1/frames/maps")
    assert r.status_code == 200 and r.headers["content-type"] == "application/octet-stream"
    header, parts = unpack_frame(r.content)
    steps = [step for _, step in header["frames"]]
    assert steps == list(range(0, STEPS + 1, 5)) and header["more"] is False
    for seq, step in header["frames"]:
        own = client.get(f"/api/runs/r1/frames/{step}/maps").content
        assert parts[str(seq)] == own and len(own) == 3 * 2 * 8 * 8


def test_the_frames_maps_come_in_pages_of_about_the_byte_limit(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(history, "FRAME_MAPS_BYTES", 1000)  # two frames of 384 bytes
    monkeypatch.setattr(history, "FRAME_MAPS_PAGE", 3)  # and several database reads
    seen, after, answers = [], 0, 0
    while True:
        header, parts = unpack_frame(
            client.get("/api/runs/r1/frames/maps", params={"after": after}).content
        )
        answers += 1
        assert 1 <= len(header["frames"]) <= 2 and sum(map(len, parts.values())) <= 1000
        seen += [step for _, step in header["frames"]]
        after = header["frames"][-1][0]
        if not header["more"]:
            break
    assert seen == list(range(0, STEPS + 1, 5)) and answers == 5
    # after the last frame: an empty answer, nothing more
    header, parts = unpack_frame(
        client.get("/api/runs/r1/frames/maps", params={"after": after}).content
    )
    assert header["frames"] == [] and parts == {} and header["more"] is False
    assert client.get("/api/runs/nope/frames/maps").status_code == 404
