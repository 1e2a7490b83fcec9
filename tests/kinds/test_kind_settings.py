"""Per-kind settings: validated by the kind's model, errors naming schedule.N.settings.<field>
in the config, the API (422) and the CLI (exit 2); listed with their schema in /api/options."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from unlearnscope.api.app import create_app
from unlearnscope.api.service.workers import Workers
from unlearnscope.config import PhaseConfig
from unlearnscope.events import EVENT_ADAPTER, PhaseVisualEvent
from unlearnscope.presets import ConfigError, build_config
from unlearnscope.settings import Settings
from unlearnscope.storage.codec import join_event, split_event


def test_settings_are_stored_with_their_defaults_filled_in() -> None:
    p = PhaseConfig(kind="nad", steps=5, lr=0.01, settings={"beta_high": 100.0})
    assert p.settings["beta_high"] == 100.0 and p.settings["teacher_steps"] == 400
    assert PhaseConfig.model_validate(p.model_dump()) == p  # normalised: a fixed point


@pytest.mark.parametrize(
    ("settings", "field"),
    [
        ({"beta_high": -1}, "schedule.1.settings.beta_high"),
        ({"no_such": 1}, "schedule.1.settings.no_such"),
        ({"teacher_steps": 2.5}, "schedule.1.settings.teacher_steps"),
    ],
)
def test_bad_settings_name_the_field(settings: dict, field: str) -> None:
    schedule = [
        {"kind": "sam", "steps": 2, "lr": 0.01},
        {"kind": "nad", "steps": 2, "lr": 0.01, "settings": settings},
    ]
    with pytest.raises(ConfigError) as err:
        build_config("tiny", {"schedule": schedule})
    assert err.value.fields == [field] and field in str(err.value)


def test_a_kind_without_settings_refuses_them() -> None:
    with pytest.raises(ConfigError) as err:
        build_config(
            "tiny",
            {
                "schedule": [
                    {"kind": "ascent", "steps": 2, "lr": 0.01, "settings": {"beta_high": 1}}
                ]
            },
        )
    assert err.value.fields == ["schedule.0.settings"] and "has no settings" in str(err.value)


@pytest.mark.parametrize("kind", [["anp"], {"k": 1}, 0, None, False])
def test_a_mistyped_kind_is_a_422_not_a_crash(kind: object) -> None:
    # Found by the schema fuzzer: a list as the kind made the settings check raise
    # TypeError (unhashable) instead of a validation error naming the field.
    phase = {"kind": kind, "steps": 1, "lr": 0.01, "settings": {}}
    with pytest.raises(ConfigError) as err:
        build_config("tiny", {"schedule": [phase]})
    assert err.value.fields == ["schedule.0.kind"]


@pytest.fixture
def client(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(Workers, "launch", lambda self, run_id: None)
    settings = Settings(home=tmp_path / "home", device="cpu", allowed_hosts=["testserver"])
    with TestClient(create_app(settings), raise_server_exceptions=False) as c:
        yield c


def test_the_api_answers_bad_settings_with_422_naming_the_field(client: TestClient) -> None:
    body: dict[str, Any] = {
        "schedule": [{"kind": "ibau", "steps": 2, "lr": 0.01, "settings": {"inner_steps": 0}}]
    }
    r = client.post("/api/runs?preset=tiny", json=body)
    assert r.status_code == 422, r.text
    assert "schedule.0.settings.inner_steps" in r.json()["fields"]
    body = {"defense": {"forget_size": 0}, "schedule": [{"kind": "ascent", "steps": 2, "lr": 0.01}]}
    r = client.post("/api/runs?preset=tiny", json=body)
    assert r.status_code == 422 and "schedule.0 (ascent) needs the forget set" in r.text
    ok = client.post(
        "/api/runs?preset=tiny",
        json={
            "defense": {"forget_size": 0},
            "schedule": [{"kind": "sam", "steps": 2, "lr": 0.01, "settings": {"rho": 0.1}}],
        },
    )
    assert ok.status_code == 201, ok.text
    assert ok.json()["config"]["schedule"][0]["settings"]["rho"] == 0.1


def test_options_list_each_kinds_settings_schema_and_defaults(client: TestClient) -> None:
    kinds = {k["kind"]: k for k in client.get("/api/options").json()["phase_kinds"]}
    nad = kinds["nad"]
    assert nad["settings_schema"]["properties"]["beta_high"]["default"] == 5000.0
    assert nad["settings_schema"]["properties"]["beta_high"]["title"]
    assert nad["defaults"]["lr"] > 0 and kinds["ascent"]["settings_schema"] is None
    assert {"nad", "sam", "ibau", "relearn"} <= set(kinds)


def test_the_cli_names_a_bad_setting_and_exits_2(tmp_path: Path) -> None:
    cfg = tmp_path / "bad.json"
    cfg.write_text(
        json.dumps({"schedule": [{"kind": "sam", "steps": 2, "lr": 0.01, "settings": {"rho": -1}}]})
    )
    res = subprocess.run(
        [sys.executable, "-m", "unlearnscope", "run", "--config", str(cfg)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=300,
    )
    assert res.returncode == 2 and "schedule.0.settings.rho" in res.stderr


@pytest.mark.parametrize("image", [bytes(range(12)), None])
def test_phase_visual_events_survive_the_codec(image: bytes | None) -> None:
    event = PhaseVisualEvent(
        seq=4,
        step=3,
        phase_index=0,
        kind="ibau",
        name="perturbation",
        height=2 if image else 0,
        width=2 if image else 0,
        image=image,
        values={"counts": [1.0, 2.0]},
        scalars={"l2_norm": 0.5},
        text="δ",
    )
    header, parts = split_event(event)
    json.dumps(header)  # strict JSON
    back = join_event(header, b"".join(d for _, d in parts) if parts else None)
    assert back == event
    assert EVENT_ADAPTER.validate_python(event.model_dump()) == event


def test_the_export_holds_each_phases_last_defence_picture(tmp_path: Path) -> None:
    import zipfile

    from unlearnscope.storage.exports import write_export_zip

    def visual(step: int, value: int) -> PhaseVisualEvent:
        return PhaseVisualEvent(
            step=step,
            phase_index=1,
            kind="ibau",
            name="perturbation",
            height=2,
            width=3,
            image=bytes([value] * 18),
        )

    out = write_export_zip(tmp_path / "x.zip", {}, [visual(3, 10), visual(7, 200)])
    with zipfile.ZipFile(out) as zf:
        names = [n for n in zf.namelist() if "/visuals/" in n]
        assert names == ["run/visuals/phase2_ibau_perturbation_step00007.png"]
        from io import BytesIO

        from PIL import Image

        img = Image.open(BytesIO(zf.read(names[0])))
        assert img.size == (12, 8) and img.getpixel((0, 0)) == (200, 200, 200)
