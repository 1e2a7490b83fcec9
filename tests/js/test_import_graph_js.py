"""The page's ES modules import each other without a cycle, and every import names a file
that exists (frontend/js/), as tests/test_import_graph.py checks for the Python package."""

from __future__ import annotations

import posixpath
import re
from pathlib import Path

from import_cycles import find_cycle

JS = Path(__file__).resolve().parents[2] / "frontend" / "js"
# `import ... from "./x.js"`, `import("./x.js")`, `import "./x.js"`: the relative ones
IMPORT = re.compile(
    r"""(?:\bimport\b[^'"]*?\bfrom\s*|\bimport\s*\(\s*|\bimport\s+)["'](\.{1,2}/[^"']+)["']"""
)


def module_imports(root: Path) -> dict[str, set[str]]:
    """{module: the modules it imports}, paths relative to `root` ("run/view.js")."""
    graph: dict[str, set[str]] = {}
    for path in sorted(root.rglob("*.js")):
        name = path.relative_to(root).as_posix()
        base = posixpath.dirname(name)
        text = path.read_text()
        graph[name] = {posixpath.normpath(posixpath.join(base, m)) for m in IMPORT.findall(text)}
    return graph


def test_the_finder_sees_a_cycle_and_a_missing_file(tmp_path: Path) -> None:
    (tmp_path / "core").mkdir()
    (tmp_path / "a.js").write_text('import { b } from "./core/b.js";\n')
    (tmp_path / "core" / "b.js").write_text("import { a } from '../a.js';\nexport const b = 1;\n")
    (tmp_path / "c.js").write_text('const m = await import("./gone.js");\n')
    graph = module_imports(tmp_path)
    assert find_cycle(graph) == ["a.js", "core/b.js", "a.js"]
    assert graph["c.js"] == {"gone.js"} and "gone.js" not in graph


def test_the_page_has_no_import_cycle() -> None:
    assert find_cycle(module_imports(JS)) is None


def test_every_import_names_a_module_of_the_page() -> None:
    graph = module_imports(JS)
    missing = {f"{m} -> {t}" for m, targets in graph.items() for t in targets if t not in graph}
    assert missing == set()
    assert "main.js" in graph and len(graph) > 30  # it read the page
