"""The run's trigger: the registered attack's builder applied to its settings."""

from __future__ import annotations

import importlib

from ...config import AttackConfig
from .base import Trigger
from .registry import ATTACKS
from .settings import load_attack_settings


def make_trigger(cfg: AttackConfig, image_size: int, seed: int = 0) -> Trigger:
    """The attack's trigger. `seed` (the run's) initialises the input-aware generator;
    an input-aware trigger is untrained until the attack stage trains (or loads) it."""
    module, _, name = ATTACKS[cfg.kind].trigger.partition(":")
    build = getattr(importlib.import_module(module), name)
    trigger = build(load_attack_settings(cfg.kind, cfg.settings), image_size, seed)
    if not isinstance(trigger, Trigger):
        raise TypeError(f"{ATTACKS[cfg.kind].trigger} did not return a Trigger")
    return trigger
