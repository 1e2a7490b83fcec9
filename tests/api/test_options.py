"""The page's vocabularies come from GET /api/options: run states, phase kinds, close codes."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient

from unlearnscope.api.app import create_app
from unlearnscope.api.close_codes import CloseCode
from unlearnscope.api.hub import CLOSE_DELETED, CLOSE_GOING_AWAY, CLOSE_LAGGING
from unlearnscope.api.routes.stream import CLOSE_NOT_FOUND
from unlearnscope.ml.kinds.registry import PHASE_KINDS
from unlearnscope.settings import Settings
from unlearnscope.states import state_lists


def test_options_serve_states_phase_kinds_and_close_codes(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path, device="cpu", allowed_hosts=["testserver"])
    with TestClient(create_app(settings)) as client:
        options = client.get("/api/options").json()
    assert options["states"] == state_lists()
    assert [k["kind"] for k in options["phase_kinds"]] == list(PHASE_KINDS)
    kinds = {k["kind"]: k for k in options["phase_kinds"]}
    assert kinds["ascent"] == {
        "kind": "ascent",
        "label": PHASE_KINDS["ascent"].label,
        "description": PHASE_KINDS["ascent"].description,
        "uses_forget_set": True,
        "finds_forget_set": False,
        "attack": False,
        "defaults": PHASE_KINDS["ascent"].defaults,
        "settings_schema": None,
    }
    # the detection kinds come after the defences (so the defences keep their colours)
    assert [k["kind"] for k in options["phase_kinds"][-4:]] == ["spectral", "ac", "abl", "scan"]
    assert all(k["finds_forget_set"] for k in options["phase_kinds"][-4:])
    # the attacks that close a schedule: the verdict judges the model before them
    assert [k["kind"] for k in options["phase_kinds"] if k["attack"]] == ["relearn", "qra"]
    assert options["close_codes"] == {c.name.lower(): int(c) for c in CloseCode}
    assert options["close_codes"]["gone"] == 4004 and options["close_codes"]["lagging"] == 4001


def test_the_servers_close_codes_are_the_one_enum() -> None:
    assert CLOSE_LAGGING is CloseCode.LAGGING and CLOSE_GOING_AWAY is CloseCode.GOING_AWAY
    assert CLOSE_DELETED is CloseCode.GONE and CLOSE_NOT_FOUND is CloseCode.GONE
