"""The page's pure logic (event model, binary frames, form checks) under Node's test runner.

The modules read the server's vocabularies (run states, phase kinds, close codes), so the
real GET /api/options answer goes to them in a file. Under CI a missing Node.js fails.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

from fastapi.testclient import TestClient

from node_tool import node_or_skip
from unlearnscope.api.app import create_app
from unlearnscope.settings import Settings

HERE = Path(__file__).parent


def test_javascript_unit_tests_pass(tmp_path: Path) -> None:
    node = node_or_skip("the JavaScript unit tests need it")
    settings = Settings(home=tmp_path / "home", device="cpu", allowed_hosts=["testserver"])
    with TestClient(create_app(settings)) as client:
        options = client.get("/api/options").json()
    options_file = tmp_path / "options.json"
    options_file.write_text(json.dumps(options))
    out = subprocess.run(
        [node, "--test", str(HERE)],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "UNLEARNSCOPE_OPTIONS_JSON": str(options_file)},
    )
    assert out.returncode == 0, out.stdout[-4000:] + out.stderr[-2000:]
