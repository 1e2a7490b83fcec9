"""The clean reference model: the same network and recipe as the attack, trained without poison.

It answers "what clean accuracy would this model have had without the backdoor?", and its
ASR (the trigger stamped on non-target test images) is the floor an unlearned model can be
compared with: a clean model also sends some triggered images to the target class.
Cached through the same `ModelStore` as backdoored models, under its own key.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

import torch

from ..config import RunConfig
from .attacks.base import Trigger
from .attacks.poisoning import triggered_non_target
from .checkpoints import config_key
from .imageset import ImageSet
from .metrics import attack_success_rate, clean_accuracy
from .models.classifier import Classifier
from .preparation import ModelStore, seeded_model, training_key_parts
from .training import train_classifier

# progress(done_batches, total_batches, metrics)
ReferenceProgress = Callable[[int, int, dict[str, float]], None]


@dataclass
class CleanReference:
    model: Classifier  # on the requested device, eval mode
    ca: float  # percent, full test set
    asr: float  # percent: triggered non-target test images classified as the target
    cached: bool  # loaded from the store instead of trained
    key: str
    timings: dict[str, float] = field(default_factory=dict)  # "training", "evaluation" [s]


def clean_reference_key(cfg: RunConfig, data_fingerprint: str, device: torch.device) -> str:
    """Cache key: data content (`ImageSet.fingerprint`), model, recipe and seed."""
    return config_key(
        {
            "kind": "clean_reference",
            "data": data_fingerprint,
            "model": cfg.model.model_dump(),
            **training_key_parts(cfg, device),
            "mean": cfg.data.mean,
            "std": cfg.data.std,
            "augment": cfg.data.augment,
            "seed": cfg.seed,
        }
    )


def clean_reference(
    cfg: RunConfig,
    train: ImageSet,
    test: ImageSet,
    trigger: Trigger,
    device: torch.device,
    store: ModelStore | None = None,
    progress: ReferenceProgress | None = None,
) -> CleanReference:
    """Load (or train, then offer to `store`) the clean model; evaluate it on `test`.

    `train` is the clean training split (no poison). The model is initialised from
    `cfg.seed` exactly like the backdoored model, so the two differ only by the poison.
    """
    t0 = time.perf_counter()
    model = seeded_model(cfg, len(train.classes), device)
    fingerprint = train.fingerprint()
    key = clean_reference_key(cfg, fingerprint, device)
    meta = store.load(key, model) if store is not None else None
    cached = meta is not None
    stats: dict[str, float] = {}
    if not cached:
        stats = train_classifier(model, train, cfg.training, cfg.data.augment, cfg.seed, progress)
    model.eval()
    t_train = time.perf_counter() - t0

    t0 = time.perf_counter()
    asr_set = triggered_non_target(test, trigger, cfg.attack.target_class)
    ca = clean_accuracy(model, test.images, test.labels)
    asr = attack_success_rate(model, asr_set.images, cfg.attack.target_class)
    t_eval = time.perf_counter() - t0
    if not cached and store is not None:
        meta = {
            "kind": "clean_reference",
            "config": cfg.model_dump(mode="json"),
            "data_fingerprint": fingerprint,
            "metrics": {**stats, "ca": ca, "asr": asr},
        }
        store.save(key, model, meta)
    return CleanReference(model, ca, asr, cached, key, {"training": t_train, "evaluation": t_eval})
