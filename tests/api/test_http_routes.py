"""HTTP routes through the FastAPI test client: validation, errors, history, static files.

No worker process is started here: runs are written into the store directly.
"""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient
from starlette.testclient import WebSocketDenialResponse
from starlette.websockets import WebSocketDisconnect

from live_server import app_service
from unlearnscope.api.app import create_app
from unlearnscope.events import (
    ForgetSetFound,
    FramesEvent,
    PathEvaluated,
    ProbesEvent,
    RunStarted,
    StatusEvent,
    StepMetrics,
)
from unlearnscope.presets import preset_config
from unlearnscope.settings import Settings
from unlearnscope.states import RunStatus
from unlearnscope.storage.codec import unpack_frame

LAB = "http://lab.example"


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(
        home=tmp_path,
        device="cpu",
        allowed_origins=[LAB],
        allowed_hosts=["testserver"],  # TestClient's Host
        max_body_bytes=4096,
    )


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(settings)) as c:
        yield c


def _service(client: TestClient):
    return app_service(client)


def _stored_run(client: TestClient, status: RunStatus = RunStatus.COMPLETED) -> str:
    """A run with a short recorded history (P=1 probe, 4x4 images), no worker."""
    store = _service(client).store
    config = preset_config("tiny", {"name": "stored"})
    store.create("done1", config, status)
    size = 4
    images = np.arange(2 * size * size * 3, dtype=np.uint8).tobytes()
    events = [
        StatusEvent(seq=1, t=1.0, status="preparing"),
        RunStarted(
            seq=2,
            t=2.0,
            device="cpu",
            model="small_cnn",
            n_params=10,
            dataset="shapes",
            classes=[str(i) for i in range(10)],
            target_class=0,
            total_steps=2,
            schedule=[p.model_dump() for p in config.schedule],
            trigger_box=[2, 2, 3, 3],
            image_size=size,
        ),
        ProbesEvent(seq=3, t=3.0, indices=[11], labels=[4], size=size, images=images),
    ]
    seq = 3
    for step in (1, 2):
        seq += 1
        events.append(
            StepMetrics(
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
        )
        seq += 1
        events.append(
            FramesEvent(
                seq=seq,
                t=float(seq),
                step=step,
                size=size,
                count=1,
                maps=bytes([step * 50]) * (2 * size * size),
                preds=[[4, 0]],
                confs=[[0.5, 0.9]],
                tars=[2.0],
            )
        )
    events.append(StatusEvent(seq=seq + 1, t=9.0, status=status.value, step=2))
    store.append("done1", events)
    return "done1"


def test_health_and_options_describe_the_server(client: TestClient) -> None:
    health = client.get("/api/health").json()
    assert health["status"] == "ok" and health["device"] == "cpu"
    options = client.get("/api/options").json()
    assert "tiny" in options["presets"] and "gradcam" in options["cam_methods"]
    assert options["presets"]["tiny"]["schedule"][0]["kind"] == "ascent"
    assert "schedule" in options["run_config_schema"]["properties"]


@pytest.mark.parametrize(
    ("body", "field", "words"),
    [
        ({"data": {"image_size": 4}}, "data.image_size", "greater than or equal"),
        ({"data": {"nmae": "shapes"}}, "data.nmae", "unknown field"),
        ({"seed": "abc"}, "seed", "integer"),
        ({"schedule": []}, "schedule", "at least 1"),
        (
            {"schedule": [{"kind": "ascent", "steps": 0, "lr": 0.1}]},
            "schedule.0.steps",
            "greater than",
        ),
        ({"monitor": {"cam_method": "magic"}}, "monitor.cam_method", "gradcam"),
    ],
)
def test_bad_bodies_get_422_naming_the_field(client: TestClient, body, field, words) -> None:
    for params in ({}, {"preset": "tiny"}):
        r = client.post("/api/runs", json=body, params=params)
        assert r.status_code == 422, r.text
        out = r.json()
        assert field in out["fields"], out
        assert words in out["detail"], out
    assert client.get("/api/runs").json() == []  # nothing half-written


def test_unknown_preset_and_non_json_bodies_are_refused(client: TestClient) -> None:
    r = client.post("/api/runs", params={"preset": "huge"}, json={})
    assert r.status_code == 422 and r.json()["fields"] == ["query.preset"]
    assert "tiny" in r.json()["detail"]
    r = client.post("/api/runs", content=b"{not json", headers={"content-type": "application/json"})
    assert r.status_code == 422


def test_oversized_bodies_get_413(client: TestClient) -> None:
    big = {"name": "x" * 5000}
    r = client.post("/api/runs", json=big)
    assert r.status_code == 413 and "at most 4096 bytes" in r.json()["detail"]

    def chunks() -> Iterator[bytes]:  # no Content-Length: counted as it streams
        yield b'{"name": "'
        for _ in range(10):
            yield b"y" * 1000
        yield b'"}'

    r = client.post("/api/runs", content=chunks(), headers={"content-type": "application/json"})
    assert r.status_code == 413


def test_unknown_runs_get_404_with_a_hint(client: TestClient) -> None:
    for method, path in [
        ("GET", "/api/runs/nope"),
        ("POST", "/api/runs/nope/pause"),
        ("GET", "/api/runs/nope/events"),
        ("DELETE", "/api/runs/nope"),
        ("GET", "/api/runs/nope/samples/0"),
        ("GET", "/api/runs/nope/export"),
    ]:
        r = client.request(method, path)
        assert r.status_code == 404, (method, path, r.text)
        assert "GET /api/runs" in r.json()["detail"]
    with client.websocket_connect("/api/runs/nope/stream") as ws:
        with pytest.raises(WebSocketDisconnect) as info:
            ws.receive_text()
        assert info.value.code == 4004


def test_wrong_state_control_gets_409_with_the_state_and_changes_nothing(
    client: TestClient,
) -> None:
    run_id = _stored_run(client, RunStatus.COMPLETED)
    before = client.get(f"/api/runs/{run_id}").json()
    for op in ("pause", "resume", "stop"):
        r = client.post(f"/api/runs/{run_id}/{op}")
        assert r.status_code == 409, r.text
        assert r.json()["state"] == "completed" and op in r.json()["detail"]
    schedule = {"schedule": before["schedule"]}
    r = client.patch(f"/api/runs/{run_id}/schedule", json=schedule)
    assert r.status_code == 409 and r.json()["state"] == "completed"
    assert client.get(f"/api/runs/{run_id}").json() == before


def test_schedule_edits_are_validated_before_reaching_the_engine(client: TestClient) -> None:
    run_id = _stored_run(client, RunStatus.RUNNING)
    r = client.patch(f"/api/runs/{run_id}/schedule", json={"schedule": [], "extra": 1})
    assert r.status_code == 422
    assert {"schedule", "extra"} <= set(r.json()["fields"])
    r = client.patch(
        f"/api/runs/{run_id}/schedule", json={"schedule": [{"kind": "melt", "steps": 3, "lr": 0.1}]}
    )
    assert r.status_code == 422 and "schedule.0.kind" in r.json()["fields"]


def test_queued_and_preparing_runs_cannot_be_inspected(client: TestClient) -> None:
    store = _service(client).store
    store.create("q1", preset_config("tiny"), RunStatus.PREPARING)
    r = client.get("/api/runs/q1/samples/0")
    assert r.status_code == 409 and r.json()["state"] == "preparing"


def test_history_endpoints_give_back_what_was_recorded(client: TestClient) -> None:
    run_id = _stored_run(client)
    out = client.get(f"/api/runs/{run_id}/events").json()
    assert [e["seq"] for e in out["events"]] == list(range(1, 9)) and out["last_seq"] == 8
    assert [
        e["seq"] for e in client.get(f"/api/runs/{run_id}/events?after=5").json()["events"]
    ] == [6, 7, 8]
    only = client.get(f"/api/runs/{run_id}/events", params={"type": ["step"]}).json()
    assert [e["type"] for e in only["events"]] == ["step", "step"]
    frame = next(e for e in out["events"] if e["type"] == "frames")
    assert frame["parts"] == [["maps", 32]] and "maps" not in frame
    raw = client.get(frame["bytes_url"])
    assert raw.status_code == 200 and raw.content == bytes([50]) * 32

    csv = client.get(f"/api/runs/{run_id}/metrics.csv")
    assert csv.headers["content-type"].startswith("text/csv")
    lines = csv.text.strip().splitlines()
    assert lines[0].startswith("step,") and len(lines) == 3 and lines[2].startswith("2,")

    assert client.get(f"/api/runs/{run_id}/frames").json() == {"steps": [1, 2]}
    frames = client.get(f"/api/runs/{run_id}/frames", params={"step": 5}).json()
    assert frames["step"] == 2 and frames["requested_step"] == 5
    probe = frames["probes"][0]
    assert probe["index"] == 11 and probe["pred"] == [4, 0] and probe["tar"] == 2.0
    png = client.get(probe["overlay"]["triggered"])
    assert png.headers["content-type"] == "image/png" and png.content[:4] == b"\x89PNG"
    assert client.get(probe["image"]["clean"]).status_code == 200
    assert client.get(f"/api/runs/{run_id}/frames/2/5/clean.png").status_code == 404
    assert client.get(f"/api/runs/{run_id}/frames", params={"step": 0}).status_code == 404
    maps = client.get(frames["maps_url"])
    assert maps.content == bytes([100]) * 32 and maps.headers["x-frame-shape"] == "1,2,4,4"


def test_export_zip_holds_config_metrics_and_frames(client: TestClient) -> None:
    run_id = _stored_run(client)
    r = client.get(f"/api/runs/{run_id}/export")
    assert r.status_code == 200 and r.headers["content-type"] == "application/zip"
    names = zipfile.ZipFile(io.BytesIO(r.content)).namelist()
    folder = f"stored-{run_id}"
    assert {f"{folder}/config.json", f"{folder}/metrics.csv", f"{folder}/metrics.json"} <= set(
        names
    )
    assert sum(n.startswith(f"{folder}/frames/") for n in names) == 4  # 2 steps x 2 variants
    config = json.loads(zipfile.ZipFile(io.BytesIO(r.content)).read(f"{folder}/config.json"))
    assert config["name"] == "stored"


def test_the_detected_forget_set_downloads_as_csv_and_rides_in_the_export(
    client: TestClient,
) -> None:
    run_id = _stored_run(client)
    r = client.get(f"/api/runs/{run_id}/forget-set.csv")
    assert r.status_code == 404 and "no detection phase has decided" in r.json()["detail"]
    assert client.get("/api/runs/nope/forget-set.csv").status_code == 404
    found = ForgetSetFound(
        seq=100,
        t=10.0,
        step=2,
        phase_index=0,
        kind="scan",
        rule="the subgroup farther from the clean samples",
        indices=[7, 3, 12],
        training_size=600,
        suspect_classes=[0],
        truth_known=True,
        true_flagged=2,
        poisoned=60,
        precision=2 / 3,
        recall=2 / 60,
        auc=0.9,
    )
    _service(client).store.append(run_id, [found])
    r = client.get(f"/api/runs/{run_id}/forget-set.csv")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    assert r.text.splitlines() == [
        "phase,kind,rank,training_index",
        "1,scan,1,7",
        "1,scan,2,3",
        "1,scan,3,12",
    ]
    assert "forget-set-done1.csv" in r.headers["content-disposition"]
    zipped = zipfile.ZipFile(io.BytesIO(client.get(f"/api/runs/{run_id}/export").content))
    assert zipped.read(f"stored-{run_id}/forget_set.csv").decode() == r.text
    assert "2 of them are truly poisoned (precision 66.7%" in found.describe()


def test_cross_origin_requests_and_handshakes_are_refused(client: TestClient) -> None:
    r = client.post("/api/runs", json={}, headers={"origin": "http://evil.example"})
    assert r.status_code == 403 and "UNLEARNSCOPE_ALLOWED_ORIGINS" in r.json()["detail"]
    assert client.get("/api/runs", headers={"origin": "http://evil.example"}).status_code == 200
    run_id = _stored_run(client)
    with pytest.raises(WebSocketDenialResponse) as denied:
        with client.websocket_connect(
            f"/api/runs/{run_id}/stream", headers={"origin": "http://evil.example"}
        ):
            pass
    assert denied.value.status_code == 403
    assert "UNLEARNSCOPE_ALLOWED_ORIGINS" in denied.value.json()["detail"]
    with pytest.raises(WebSocketDenialResponse):
        with client.websocket_connect("/api/runs/stream", headers={"origin": "http://evil"}):
            pass
    # an allowed origin streams the (finished) history, then the server closes
    with client.websocket_connect(
        f"/api/runs/{run_id}/stream?after=5", headers={"origin": LAB}
    ) as ws:
        assert json.loads(ws.receive_text())["seq"] == 6  # step 2
        header, parts = unpack_frame(ws.receive_bytes())  # its heatmaps
        assert header["seq"] == 7 and parts["maps"] == bytes([100]) * 32
        assert json.loads(ws.receive_text())["status"] == "completed"
        assert json.loads(ws.receive_text())["type"] == "history_end"
        with pytest.raises(WebSocketDisconnect) as info:
            ws.receive_text()
        assert info.value.code == 1000


def test_runs_left_active_by_a_dead_server_become_interrupted(settings: Settings) -> None:
    with TestClient(create_app(settings)) as first:
        store = _service(first).store
        store.create("was-running", preset_config("tiny"), RunStatus.RUNNING)
        store.create("was-paused", preset_config("tiny"), RunStatus.PAUSED)
        store.create("finished", preset_config("tiny"), RunStatus.COMPLETED)
    with TestClient(create_app(settings)) as second:
        runs = {r["id"]: r for r in second.get("/api/runs").json()}
    assert runs["was-running"]["status"] == "interrupted"
    assert "was running" in runs["was-running"]["message"]
    assert runs["was-paused"]["status"] == "interrupted"
    assert runs["finished"]["status"] == "completed"


def test_static_page_plotly_and_openapi_examples(client: TestClient) -> None:
    page = client.get("/")
    assert page.status_code == 200 and "<html" in page.text.lower()
    js = client.get("/vendor/plotly.min.js")
    assert js.status_code == 200 and "javascript" in js.headers["content-type"]
    assert len(js.content) > 1_000_000
    schema = client.get("/openapi.json").json()
    post = schema["paths"]["/api/runs"]["post"]
    assert {"tiny", "full", "bad"} <= set(
        post["requestBody"]["content"]["application/json"]["examples"]
    )
    for path in (
        "/api/runs/{run_id}/pause",
        "/api/runs/{run_id}/schedule",
        "/api/runs/{run_id}/samples/{index}",
        "/api/runs/{run_id}/export",
        "/api/runs/{run_id}/metrics.csv",
        "/api/runs/{run_id}/frames",
        "/api/health",
        "/api/options",
    ):
        assert path in schema["paths"], path
    assert "examples" in json.dumps(schema["components"]["schemas"]["RunOut"])


def test_the_path_of_a_finished_run_is_its_last_stored_one(client: TestClient) -> None:
    run_id = _stored_run(client)
    r = client.post(f"/api/runs/{run_id}/path")
    assert r.status_code == 404 and "measured no path" in r.json()["detail"]
    assert client.post("/api/runs/nope/path").status_code == 404
    first, last = (
        PathEvaluated(
            seq=100 + i, t=10.0, step=2, phase_index=0, label=f"phase {i + 1} (recovery)",
            alphas=[0.0, 0.5, 1.0], asr=[100.0, 40.0 - i, 1.0], ca=[90.0, 88.0, 89.0],
        )
        for i in range(2)
    )  # fmt: skip
    _service(client).store.append(run_id, [first, last])
    r = client.post(f"/api/runs/{run_id}/path")
    assert r.status_code == 200
    body = r.json()
    assert body["source"] == "stored" and body["label"] == "phase 2 (recovery)"
    assert body["asr"] == [100.0, 39.0, 1.0] and body["alphas"] == [0.0, 0.5, 1.0]
