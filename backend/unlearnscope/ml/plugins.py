"""Registries made of folders and installed plug-ins: phase kinds, models (and attacks).

A registry is a package whose sub-folders each define one spec object (`KIND`, `MODEL`,
...) in their torch-free `__init__.py`, plus the specs that installed packages declare in
an entry-point group (`unlearnscope.kinds`, `unlearnscope.models`): the entry point's name
is the spec's name and it loads the spec object. A plug-in cannot replace a built-in (its
name must be new); one that fails to load, or loads something else, is logged and left
out, so a broken package never takes the server down.
"""

from __future__ import annotations

import importlib
import logging
import pkgutil
from importlib.metadata import entry_points
from pathlib import Path
from typing import Protocol, TypeVar, cast

log = logging.getLogger(__name__)

T = TypeVar("T")


def built_in(package: str, attr: str, spec: type[T]) -> dict[str, T]:
    """Every sub-folder of `package` with its `attr`."""
    root = Path(importlib.import_module(package).__file__ or "").parent
    found: dict[str, T] = {}
    for info in pkgutil.iter_modules([str(root)]):
        if info.ispkg:
            value = getattr(importlib.import_module(f"{package}.{info.name}"), attr, None)
            if not isinstance(value, spec):
                raise TypeError(f"{package}.{info.name} must define {attr} (a {spec.__name__})")
            found[info.name] = value
    return found


def plug_ins(group: str, spec: type[T], taken: set[str]) -> dict[str, T]:
    """The specs of `group`'s entry points whose names are not `taken`."""
    found: dict[str, T] = {}
    for ep in entry_points(group=group):
        if ep.name in taken or ep.name in found:
            log.warning("plug-in %s %r (%s) ignored: the name is taken", group, ep.name, ep.value)
            continue
        try:
            value = ep.load()
        except Exception:  # a plug-in's own import error must not take the server down
            log.exception("plug-in %s %r (%s) failed to load", group, ep.name, ep.value)
            continue
        if not isinstance(value, spec):
            log.warning("plug-in %s %r (%s) is not a %s", group, ep.name, ep.value, spec.__name__)
            continue
        found[ep.name] = value
    return found


class _Ordered(Protocol):
    @property
    def order(self) -> int: ...  # where the spec sits in lists people see


Spec = TypeVar("Spec", bound=_Ordered)


def registry(
    package: str, attr: str, spec: type[Spec], group: str, reserved: frozenset[str] = frozenset()
) -> dict[str, Spec]:
    """Built-ins (the folders of `package`, each with `attr`) and the plug-ins of `group`,
    in the order people see them (`spec.order`, then the name). `reserved` names (former
    names still read) are refused to plug-ins as the built-ins' are."""
    found = built_in(package, attr, spec)
    found.update(plug_ins(group, spec, set(found) | reserved))
    return dict(sorted(found.items(), key=lambda item: (item[1].order, item[0])))


_classes: dict[str, type] = {}


def load_class(path: str, base: type[T]) -> type[T]:
    """The class named by "module:Class" (imported once), checked to subclass `base`."""
    if path not in _classes:
        module, _, name = path.partition(":")
        cls = getattr(importlib.import_module(module), name)
        if not (isinstance(cls, type) and issubclass(cls, base)):
            raise TypeError(f"{path} is not a {base.__name__} subclass")
        _classes[path] = cls
    return cast(type[T], _classes[path])
