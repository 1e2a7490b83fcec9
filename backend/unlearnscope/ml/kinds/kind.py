"""`PhaseKind`: what the registry knows of a phase kind (each folder's `KIND`, each plug-in's
entry point). Torch-free; its own module so a kind's folder and a plug-in import it without
importing the registry."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class PhaseKind:
    label: str  # a few words for people
    description: str  # what one step does
    step: str  # "module:Class" of the step implementation (a kinds.protocol.PhaseKindImpl)
    uses_forget_set: bool  # needs the defender's identified poisoned samples
    # A detection kind: it searches the training set for poisoned samples, and what it
    # flags becomes the forget set of every later phase (ml/kinds/detect.py).
    finds_forget_set: bool = False
    # An attack on the defended model (`relearn`, `qra`): it plays the attacker and closes a
    # schedule; the results report the model before the trailing attacks as the defended
    # one (ml/engine/summary.py), and what each attack did apart.
    attack: bool = False
    # False for a kind that leaves the weights as they are (qra): its phase end measures
    # neither an evaluation nor the path again; the model is the one the last phase left.
    changes_weights: bool = True
    # "module:Class" of the kind's own settings (a kinds.settings.KindSettings subclass), or
    # None: a kind without settings refuses a non-empty PhaseConfig.settings.
    settings: str | None = None
    # The published recipe of the common PhaseConfig fields (steps, lr, batch_size,
    # momentum, ...): the page's schedule editor fills them in when the kind is chosen, and
    # presets start from them (`recipe`).
    defaults: dict[str, Any] = field(default_factory=dict)
    # Where the kind sits in lists people see (built-ins 0-99; plug-ins default after them).
    order: int = 1000
    # Former names still read from old config files, stored runs and event logs.
    aliases: tuple[str, ...] = ()


# The common fields of a detection kind (spectral, ac, abl, scan): its steps split the pass
# over the training set, its batch is the forward batch; it trains nothing, so lr,
# momentum, EWC and clipping are not used.
DETECTION_DEFAULTS: dict[str, Any] = {
    "steps": 20,
    "lr": 0.01,
    "batch_size": 256,
    "momentum": 0.0,
    "ewc_lambda": 0.0,
    "clip_norm": None,
}
