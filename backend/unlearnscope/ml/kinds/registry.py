"""The phase-kind registry: the folders of `ml/kinds/` plus the installed plug-ins.

A phase kind is one folder `ml/kinds/<name>/` whose `__init__.py` holds `KIND`, a
`PhaseKind`: what a person sees (label, description), what data it needs, the
"module:Class" of its step (`step.py`, imported only when a run uses it) and of its
settings (`settings.py`, torch-free), and its published recipe (`defaults`: the common
PhaseConfig fields; the kind-specific ones are the settings model's defaults). The folder's
name is the kind's one name, in configs, the API, the page and the docs.

A third party adds a kind from their own installed package through the entry-point group
`unlearnscope.kinds`: the entry point's name is the kind's name and it loads a `PhaseKind`
(`[project.entry-points."unlearnscope.kinds"] mykind = "mypkg.kind:KIND"`). It then appears
in the RunConfig schema, `GET /api/options`, the form, the charts and the comparison like a
built-in. A plug-in cannot replace a built-in kind (its name must be new).

Torch-free: the config, the API and the page read this without importing torch.
`PHASE_KINDS` is a plain dict (in the order people see the kinds), so a test can register
a throwaway kind with `monkeypatch.setitem`.
"""

from __future__ import annotations

from typing import Any

from .. import plugins
from .kind import PhaseKind

ENTRY_POINT_GROUP = "unlearnscope.kinds"


def discover() -> dict[str, PhaseKind]:
    """Built-in kinds and installed plug-ins, in the order people see them; the built-ins'
    former names are refused to plug-ins too."""
    package = __name__.rpartition(".")[0]
    aliases = {
        a for kind in plugins.built_in(package, "KIND", PhaseKind).values() for a in kind.aliases
    }
    return plugins.registry(package, "KIND", PhaseKind, ENTRY_POINT_GROUP, frozenset(aliases))


PHASE_KINDS: dict[str, PhaseKind] = discover()


def canonical_kind(name: str) -> str:
    """The kind's one name for `name`, which may be a former name (an alias)."""
    if name in PHASE_KINDS:
        return name
    for kind_name, kind in PHASE_KINDS.items():
        if name in kind.aliases:
            return kind_name
    return name


def recipe(kind: str, **overrides: Any) -> dict[str, Any]:
    """A schedule phase of `kind` at its published recipe, `overrides` on top (a preset
    that must deviate, e.g. fewer steps to fit a CPU, says so where it calls this)."""
    settings = overrides.pop("settings", None)
    phase: dict[str, Any] = {"kind": kind, **PHASE_KINDS[kind].defaults, **overrides}
    if settings:
        phase["settings"] = settings
    return phase
