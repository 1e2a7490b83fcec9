"""The routes talk to the run service through its front alone: every `service.X` in
api/routes/ is a method or property of RunService, never one of its collaborators
(`service.history`, `service.store`, ...) or something reached through one."""

from __future__ import annotations

import ast
import inspect
from pathlib import Path

import unlearnscope.api.routes
from unlearnscope.api.service import RunService

ROUTES = Path(unlearnscope.api.routes.__file__).parent


def front() -> set[str]:
    """The names RunService's class defines (its methods and properties)."""
    tree = ast.parse(inspect.getsource(RunService))
    body = tree.body[0].body  # type: ignore[attr-defined]
    return {n.name for n in body if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)}


def reached_around(source: str, allowed: set[str]) -> list[str]:
    """`service.X` (line: text) uses of a name that is not in `allowed`."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if (
            isinstance(node, ast.Attribute)
            and isinstance(node.value, ast.Name)
            and node.value.id == "service"
            and node.attr not in allowed
        ):
            found.append(f"{node.lineno}: service.{node.attr}")
    return found


def test_the_check_sees_a_collaborator_reached_around_the_front() -> None:
    planted = "def route(service):\n    return service.history.frame_at('r', 1), service.get('r')\n"
    assert reached_around(planted, front()) == ["2: service.history"]


def test_every_route_uses_the_service_front_alone() -> None:
    allowed = front() - {"__init__"}
    assert {"get", "facts", "compare", "create_sweep"} <= allowed
    offenders = [
        f"{path.name}:{line}"
        for path in sorted(ROUTES.glob("*.py"))
        for line in reached_around(path.read_text(), allowed)
    ]
    assert offenders == []
