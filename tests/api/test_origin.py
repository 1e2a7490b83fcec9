"""Which pages may open a WebSocket or send a state-changing request."""

from __future__ import annotations

import pytest

from unlearnscope.api.middleware import origin_allowed


@pytest.mark.parametrize(
    ("origin", "allowed", "bind", "port", "host", "ok"),
    [
        (None, [], "127.0.0.1", 8000, "127.0.0.1:8000", True),  # not a browser
        ("http://127.0.0.1:8000", [], "127.0.0.1", 8000, "127.0.0.1:8000", True),
        ("http://localhost:8000", [], "127.0.0.1", 8000, "localhost:8000", True),
        ("http://localhost:8080", [], "0.0.0.0", 8000, "localhost:8080", True),  # port map
        ("http://evil.example", [], "127.0.0.1", 8000, "127.0.0.1:8000", False),
        ("http://evil.example:8000", [], "127.0.0.1", 8000, "evil.example:8000", False),
        ("http://127.0.0.1:9999", [], "127.0.0.1", 8000, "127.0.0.1:8000", False),
        ("null", [], "127.0.0.1", 8000, "127.0.0.1:8000", False),
        ("https://lab.example", ["https://lab.example"], "0.0.0.0", 8000, "x", True),
        ("https://any.example", ["*"], "127.0.0.1", 8000, "x", True),
    ],
)
def test_origin_allowed(origin, allowed, bind, port, host, ok) -> None:
    assert origin_allowed(origin, allowed, bind, port, host) is ok
