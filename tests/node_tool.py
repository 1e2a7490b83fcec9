"""Node.js for the tests that run the page's JavaScript: its path, or a skip where it is
missing, but never under CI (scripts/test.sh installs it), where a missing Node.js fails."""

from __future__ import annotations

import os
import shutil

import pytest


def node_or_skip(needs: str) -> str:
    """The `node` executable; `needs`: what needs it, for the message."""
    node = shutil.which("node") or shutil.which("nodejs")
    if node is None:
        message = f"Node.js is not installed: {needs} (apt install nodejs)"
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail(message + "; under CI this never skips (scripts/test.sh installs it)")
        pytest.skip(message)
    return node
