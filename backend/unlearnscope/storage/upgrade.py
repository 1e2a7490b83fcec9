"""Stored runs read in today's names: what older versions wrote is upgraded on read.

- Phase kinds renamed since (`invert` is `nc`): the top-level "kind" of an event payload
  and each "kind" of a "schedule" list.
- Attack settings once flat (`attack.trigger_size`, `attack.wanet_strength`, ...): moved
  into `attack.settings` under their current names; flat fields of another attack than
  the config's, which never had an effect, are dropped.

Reads only (storage/tables.py's JSON columns); what is written is already current.
"""

from __future__ import annotations

from typing import Any

from ..ml.attacks.registry import ATTACKS, FLAT_FIELDS
from ..ml.kinds.registry import canonical_kind


def current_kind_names(value: Any) -> Any:
    """A stored run config, schedule or event payload with former kind names replaced:
    the top-level "kind" and each "kind" of a "schedule" list (or of a list of phases)."""
    if isinstance(value, list):
        return [current_kind_names(v) if isinstance(v, dict) else v for v in value]
    if not isinstance(value, dict):
        return value
    out = value
    kind = value.get("kind")
    if isinstance(kind, str) and canonical_kind(kind) != kind:
        out = {**out, "kind": canonical_kind(kind)}
    if isinstance(value.get("schedule"), list):
        out = {**out, "schedule": current_kind_names(value["schedule"])}
    return out


def current_attack(attack: Any) -> Any:
    """An attack config with its former flat fields moved into `settings`."""
    if not isinstance(attack, dict) or not FLAT_FIELDS & set(attack):
        return attack
    flat = ATTACKS[attack["kind"]].flat if attack.get("kind") in ATTACKS else {}
    settings = {flat[k]: v for k, v in attack.items() if k in flat}
    kept = {k: v for k, v in attack.items() if k not in FLAT_FIELDS}
    return {**kept, "settings": {**settings, **(attack.get("settings") or {})}}


def current_names(value: Any) -> Any:
    """A stored config, schedule or event payload in today's names."""
    value = current_kind_names(value)
    if isinstance(value, dict) and "attack" in value:
        value = {**value, "attack": current_attack(value["attack"])}
    return value
