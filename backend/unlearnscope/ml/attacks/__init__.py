"""Backdoor attacks: triggers (one module each), poisoning, and the ASR evaluation set.

A trigger is stamped on unnormalised pixels, uint8 or float in [0, 1], and never
modifies its input. Patch triggers carry a pixel mask; for the others the trigger region
is computed per image from what they changed (ml/region.py).
"""

from __future__ import annotations

from ...config import AttackConfig
from .badnets import BadNets
from .base import Box, Trigger, random_pattern
from .blended import Blended
from .inputaware import InputAware, InputAwareTraining, TriggerGenerator
from .poisoning import PoisonedSet, poison, poison_count, triggered_non_target
from .sig import SIG
from .wanet import WaNet

__all__ = [
    "SIG",
    "BadNets",
    "Blended",
    "Box",
    "InputAware",
    "InputAwareTraining",
    "PoisonedSet",
    "Trigger",
    "TriggerGenerator",
    "WaNet",
    "make_trigger",
    "poison",
    "poison_count",
    "random_pattern",
    "triggered_non_target",
]


def make_trigger(cfg: AttackConfig, image_size: int, seed: int = 0) -> Trigger:
    """The attack's trigger. `seed` (the run's) initialises the input-aware generator;
    an input-aware trigger is untrained until the attack stage trains (or loads) it."""
    if cfg.kind == "badnets":
        return BadNets(
            image_size,
            size=cfg.trigger_size,
            position=cfg.position,
            x=cfg.x,
            y=cfg.y,
            pattern=cfg.pattern,
            margin=cfg.margin,
            pattern_seed=cfg.pattern_seed,
        )
    if cfg.kind == "blended":
        return Blended(image_size, alpha=cfg.alpha, pattern_seed=cfg.pattern_seed)
    if cfg.kind == "wanet":
        return WaNet(
            image_size,
            k=cfg.wanet_grid,
            strength=cfg.wanet_strength,
            cross_ratio=cfg.wanet_cross_ratio,
            seed=cfg.pattern_seed,
        )
    if cfg.kind == "sig":
        return SIG(image_size, delta=cfg.sig_delta, frequency=cfg.sig_frequency)
    if cfg.kind == "inputaware":
        return InputAware(image_size, seed=seed)
    raise ValueError(f"unknown attack {cfg.kind!r}")
