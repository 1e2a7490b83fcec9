"""`unlearnscope.ml` must stay pure PyTorch: no web, socket or database package."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import unlearnscope.ml

FORBIDDEN = ("fastapi", "starlette", "uvicorn", "websockets", "sqlalchemy", "httpx", "requests")


def test_ml_source_imports_no_web_or_database_package() -> None:
    root = Path(unlearnscope.ml.__file__).parent
    offenders = []
    for path in root.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names = [node.module]
            offenders += [f"{path.name}: {n}" for n in names if n.split(".")[0] in FORBIDDEN]
    assert offenders == []


def test_importing_the_engine_loads_no_web_or_database_module() -> None:
    code = (
        "import sys, unlearnscope.ml.engine, unlearnscope.ml.cam;"
        f"print(sorted(m for m in sys.modules if m.split('.')[0] in {FORBIDDEN!r}))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
