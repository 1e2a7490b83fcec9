"""Every preset says in a sentence what it is (the form shows it beside the choice)."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient

from unlearnscope.api.app import create_app
from unlearnscope.presets import PRESET_DESCRIPTIONS, PRESETS
from unlearnscope.settings import Settings


def test_every_preset_has_a_short_plain_description() -> None:
    missing = sorted(set(PRESETS) - set(PRESET_DESCRIPTIONS))
    assert not missing, f"presets without a description: {missing}"
    assert not set(PRESET_DESCRIPTIONS) - set(PRESETS), "a description of no preset"
    for name, text in PRESET_DESCRIPTIONS.items():
        assert 20 <= len(text) <= 200, (name, len(text))
        assert text.endswith((".", "?")) and text[0].isupper(), name


def test_the_options_carry_them(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path, device="cpu", allowed_hosts=["testserver"])
    with TestClient(create_app(settings)) as client:
        body = client.get("/api/options").json()
    assert body["preset_descriptions"] == PRESET_DESCRIPTIONS
