"""The attack registry: the folders of `ml/attacks/` plus installed plug-ins.

An attack is one folder `ml/attacks/<name>/`: `__init__.py` holds `ATTACK`, an
`AttackKind` (torch-free), `settings.py` its settings model, `trigger.py` the trigger. A
third party adds one from their own package through the entry-point group
`unlearnscope.attacks` (`mine = "mypkg.attack:ATTACK"`).
"""

from __future__ import annotations

from .. import plugins
from .attack import AttackKind

ENTRY_POINT_GROUP = "unlearnscope.attacks"


ATTACKS: dict[str, AttackKind] = plugins.registry(
    __name__.rpartition(".")[0], "ATTACK", AttackKind, ENTRY_POINT_GROUP
)
# Every former flat field name of every attack (read, then moved into `settings`).
FLAT_FIELDS: frozenset[str] = frozenset(f for a in ATTACKS.values() for f in a.flat)
