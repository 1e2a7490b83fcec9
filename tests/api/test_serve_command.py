"""`unlearnscope serve`: flags over environment, loopback by default, the URL printed."""

from __future__ import annotations

from pathlib import Path

import pytest

from unlearnscope.api import serve as serve_module
from unlearnscope.cli import make_parser


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

    calls = {}
    monkeypatch.setattr(uvicorn, "run", lambda app, **kw: calls.update(kw, app=app))
    args = make_parser().parse_args(["serve", "--home", str(tmp_path), "--port", "8123"])
    assert args.func(args) == 0
    assert "http://127.0.0.1:8123/" in capsys.readouterr().out
    assert calls["host"] == "127.0.0.1" and calls["port"] == 8123
    assert calls["app"].state.settings.home == tmp_path
