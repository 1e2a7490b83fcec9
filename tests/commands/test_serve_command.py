"""`unlearnscope serve`: flags over environment, loopback by default, the URL printed."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from unlearnscope.api.server_thread import UVICORN_OPTIONS
from unlearnscope.commands import serve as serve_module
from unlearnscope.commands.main import main, make_parser


def test_defaults_are_loopback_8000_and_flags_win_over_env(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("UNLEARNSCOPE_HOST", raising=False)
    monkeypatch.delenv("UNLEARNSCOPE_PORT", raising=False)
    settings = serve_module.settings_from_args(make_parser().parse_args(["serve"]))
    assert (settings.host, settings.port) == ("127.0.0.1", 8000)

    monkeypatch.setenv("UNLEARNSCOPE_PORT", "9001")
    monkeypatch.setenv("UNLEARNSCOPE_DEVICE", "cpu")
    args = make_parser().parse_args(
        ["serve", "--port", "9002", "--home", str(tmp_path), "--db", "sqlite:///x.db"]
    )
    settings = serve_module.settings_from_args(args)
    assert settings.port == 9002 and settings.device == "cpu"  # flag wins; env fills in
    assert settings.home == tmp_path and settings.db_url == "sqlite:///x.db"


def test_serve_prints_the_url_and_starts_uvicorn(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import uvicorn

    calls: dict[str, Any] = {}
    monkeypatch.setattr(uvicorn, "run", lambda app, **kw: calls.update(kw, app=app))
    args = make_parser().parse_args(["serve", "--home", str(tmp_path), "--port", "8123"])
    assert args.func(args) == 0
    assert "http://127.0.0.1:8123/" in capsys.readouterr().out
    assert calls["host"] == "127.0.0.1" and calls["port"] == 8123
    assert calls["ws_per_message_deflate"] is False  # see the test below
    assert calls["app"].state.settings.home == tmp_path


def test_db_takes_a_file_path_and_serves_from_that_file(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    import uvicorn
    from fastapi.testclient import TestClient

    monkeypatch.delenv("UNLEARNSCOPE_DB", raising=False)
    monkeypatch.chdir(tmp_path)
    apps = []
    monkeypatch.setattr(uvicorn, "run", lambda app, **kw: apps.append(app))
    argv = ["serve", "--home", str(tmp_path / "home"), "--db", "dbs/runs.sqlite"]
    assert main(argv) == 0
    settings = apps[0].state.settings
    assert settings.db_url == f"sqlite:///{tmp_path / 'dbs' / 'runs.sqlite'}"  # absolute
    settings.device = "cpu"
    with TestClient(apps[0], base_url="http://127.0.0.1:8000") as client:
        assert client.get("/api/runs").json() == []
    assert (tmp_path / "dbs" / "runs.sqlite").is_file()


@pytest.mark.parametrize(
    ("value", "says"),
    [
        ("nosuchdb://host/x", "no database kind 'nosuchdb'"),
        ("sqlite:///relative.db", None),
        ("postgresql://u@db.example/unlearnscope", None),  # psycopg 3: the postgres extra
        ("://nothing", "not a SQLAlchemy URL"),
        (".", "give a database file"),
    ],
)
def test_a_bad_db_exits_2_naming_the_flag(
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    value: str,
    says: str | None,
) -> None:
    import uvicorn

    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(uvicorn, "run", lambda app, **kw: pytest.fail("served anyway"))
    if says is None:  # a URL SQLAlchemy reads: accepted as it is
        args = make_parser().parse_args(["serve", "--home", str(tmp_path), "--db", value])
        assert serve_module.settings_from_args(args).db_url == value
        return
    assert main(["serve", "--home", str(tmp_path), "--db", value]) == 2
    err = capsys.readouterr().err
    assert err.startswith("unlearnscope: error: --db") and says in err
    assert "Traceback" not in err


def test_a_db_path_in_the_environment_works_too(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("UNLEARNSCOPE_DB", str(tmp_path / "env.sqlite"))
    settings = serve_module.settings_from_args(make_parser().parse_args(["serve"]))
    assert settings.db_url == f"sqlite:///{tmp_path / 'env.sqlite'}"


@pytest.mark.parametrize("served", [True, False], ids=["serve", "uvicorn-default"])
def test_serve_sends_frames_uncompressed_even_when_the_client_offers_deflate(
    tmp_path: Path, served: bool
) -> None:
    """uvicorn compresses each message once per client when per-message deflate is agreed:
    with many dashboards open the fan-out, not the engine, would set the pace. `serve`
    declines it (uvicorn's default, the control case, accepts it)."""
    import json
    import socket
    import threading
    import time

    import uvicorn
    from websockets.sync.client import connect

    from unlearnscope.api.app import create_app
    from unlearnscope.settings import Settings

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    app = create_app(Settings(home=tmp_path, port=port, device="cpu"))
    options = UVICORN_OPTIONS if served else {}
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", **options)
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 30
        while not server.started and time.monotonic() < deadline:
            time.sleep(0.05)
        # The websockets client offers permessage-deflate, as browsers do.
        with connect(f"ws://127.0.0.1:{port}/api/runs/stream", open_timeout=30) as ws:
            assert json.loads(ws.recv())["type"] == "runs"
            assert ws.response is not None
            agreed = ws.response.headers.get("Sec-WebSocket-Extensions")
    finally:
        server.should_exit = True
        thread.join(30)
    if served:
        assert agreed is None
    else:
        assert agreed is not None and "permessage-deflate" in agreed
