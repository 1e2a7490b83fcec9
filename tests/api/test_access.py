"""Issue 11, who may do what: the Host header, the token off loopback, same-host pages."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from starlette.testclient import WebSocketDenialResponse

from unlearnscope.api.app import create_app
from unlearnscope.commands.serve import page_urls
from unlearnscope.settings import Settings

LAN = "192.168.1.5:8000"


def test_a_foreign_host_header_is_refused_on_loopback(tmp_path: Path) -> None:
    """DNS rebinding: a page at evil.example:PORT resolving to 127.0.0.1."""
    with TestClient(create_app(Settings(home=tmp_path, device="cpu"))) as c:
        for path in ("/api/runs", "/api/runs/abc/export", "/"):
            r = c.get(path, headers={"host": "evil.example:8000"})
            assert r.status_code == 400, path
            assert "UNLEARNSCOPE_ALLOWED_HOSTS" in r.json()["detail"]
        assert c.get("/api/runs", headers={"host": "127.0.0.1:8000"}).status_code == 200
        assert c.get("/api/runs", headers={"host": "localhost:8000"}).status_code == 200
        with pytest.raises(WebSocketDenialResponse) as denied:
            with c.websocket_connect("/api/runs/stream", headers={"host": "evil.example"}):
                pass
        assert denied.value.status_code == 400


def test_allowed_hosts_setting_adds_names(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path, device="cpu", allowed_hosts=["lab.example"])
    with TestClient(create_app(settings)) as c:
        assert c.get("/api/runs", headers={"host": "lab.example:8000"}).status_code == 200
        assert c.get("/api/runs", headers={"host": "other.example"}).status_code == 400


@pytest.fixture
def lan(tmp_path: Path):
    settings = Settings(home=tmp_path, device="cpu", host="0.0.0.0", port=8000)
    with TestClient(create_app(settings), base_url=f"http://{LAN}") as c:
        yield c, settings


def test_bound_to_all_a_token_is_generated_and_required(lan) -> None:
    c, settings = lan
    token = settings.token
    assert token and len(token) >= 32
    assert any(url.endswith(f":8000/?token={token}") for url in page_urls(settings))
    for path in ("/api/runs", "/", "/api/options", "/api/runs/abc/export", "/docs"):
        r = c.get(path)
        assert r.status_code == 401, path
        assert "token" in r.json()["detail"]
    assert c.get("/api/health").status_code == 200  # open: container health checks
    assert c.get("/api/runs", headers={"authorization": "Bearer wrong-token"}).status_code == 401
    assert c.get("/api/runs", params={"token": "wrong-token"}).status_code == 401
    assert c.get("/api/runs", headers={"authorization": f"Bearer {token}"}).status_code == 200
    assert c.get("/api/runs", params={"token": token}).status_code == 200


def test_the_page_keeps_the_token_in_a_strict_httponly_cookie(lan) -> None:
    c, settings = lan
    r = c.get(f"/?token={settings.token}&x=1", follow_redirects=False)
    assert r.status_code == 200
    cookie = r.headers["set-cookie"]
    assert cookie.startswith(f"unlearnscope_token={settings.token}")
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie
    assert 'url=/?x=1"' in r.text and settings.token not in r.text  # reloads without it
    assert c.get("/").status_code == 200  # the cookie now opens the page ...
    assert c.get("/api/runs").status_code == 200  # ... and the API


def test_a_page_from_the_lan_address_may_post_and_stream_with_the_token(lan) -> None:
    """`serve --host 0.0.0.0`: the dashboard opened at http://<lan-ip>:PORT works."""
    c, settings = lan
    auth = {"authorization": f"Bearer {settings.token}"}
    same = {**auth, "origin": f"http://{LAN}"}
    r = c.post("/api/runs", params={"preset": "nope"}, json={}, headers=same)
    assert r.status_code == 422  # past the origin check: the preset is what is wrong
    other = {**auth, "origin": "http://evil.example:8000"}
    assert c.post("/api/runs", json={}, headers=other).status_code == 403
    with c.websocket_connect(
        f"/api/runs/stream?token={settings.token}", headers={"origin": f"http://{LAN}", "host": LAN}
    ) as ws:
        assert ws.receive_json()["type"] == "runs"
    with pytest.raises(WebSocketDenialResponse) as denied:
        with c.websocket_connect(
            "/api/runs/stream", headers={"origin": f"http://{LAN}", "host": LAN}
        ):
            pass
    assert denied.value.status_code == 401
    with pytest.raises(WebSocketDenialResponse) as denied:
        with c.websocket_connect(
            f"/api/runs/stream?token={settings.token}",
            headers={"origin": "http://evil:8000", "host": LAN},
        ):
            pass
    assert denied.value.status_code == 403


def test_a_token_set_on_loopback_is_required_too(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("UNLEARNSCOPE_TOKEN", "lab-secret-123")
    settings = Settings(home=tmp_path, device="cpu", allowed_hosts=["testserver"])
    with TestClient(create_app(settings)) as c:
        assert c.get("/api/runs").status_code == 401
        ok = c.get("/api/runs", headers={"authorization": "Bearer lab-secret-123"})
        assert ok.status_code == 200


def test_no_token_is_needed_on_loopback_by_default(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path, device="cpu", allowed_hosts=["testserver"])
    with TestClient(create_app(settings)) as c:
        assert settings.token is None
        assert c.get("/api/runs").status_code == 200
