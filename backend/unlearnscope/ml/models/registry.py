"""The model registry: the folders of `ml/models/` plus installed plug-ins.

A model is one folder `ml/models/<name>/`: `__init__.py` holds `MODEL`, a `ModelKind`
(torch-free: label, default CAM layer, "module:function" of its builder), `net.py` the
network. A third party adds an architecture from their own package through the
entry-point group `unlearnscope.models` (`mynet = "mypkg.net:MODEL"`).
"""

from __future__ import annotations

from .. import plugins
from .model import ModelKind

ENTRY_POINT_GROUP = "unlearnscope.models"


def discover() -> dict[str, ModelKind]:
    """Built-in models and installed plug-ins, in the order people see them."""
    models = plugins.built_in(__name__.rpartition(".")[0], "MODEL", ModelKind)
    models.update(plugins.plug_ins(ENTRY_POINT_GROUP, ModelKind, set(models)))
    return dict(sorted(models.items(), key=lambda item: (item[1].order, item[0])))


MODELS: dict[str, ModelKind] = discover()
