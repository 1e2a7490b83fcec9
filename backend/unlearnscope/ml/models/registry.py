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


MODELS: dict[str, ModelKind] = plugins.registry(
    __name__.rpartition(".")[0], "MODEL", ModelKind, ENTRY_POINT_GROUP
)
