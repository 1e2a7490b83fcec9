"""The page's pure logic (event model, binary frames, form checks) under Node's test runner."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

HERE = Path(__file__).parent


def test_javascript_unit_tests_pass() -> None:
    node = shutil.which("node") or shutil.which("nodejs")
    if node is None:
        pytest.skip(
            "Node.js is not installed: the JavaScript unit tests need it (apt install nodejs)"
        )
    out = subprocess.run(
        [node, "--test", str(HERE / "js")], capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 0, out.stdout[-4000:] + out.stderr[-2000:]
