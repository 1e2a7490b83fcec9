"""Everything before unlearning: data, trigger, poisoned set, the backdoored model.

The backdoored model comes from a `ModelStore` when one with the same key exists (data
content, model, attack, training recipe and seed), else it is trained here and offered to
the store. The store does the file I/O; this module and the engine only call it.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import torch
from torch import nn

from ..config import RunConfig
from .attacks.base import Trigger
from .attacks.inputaware.settings import InputAwareSettings
from .attacks.inputaware.trigger import InputAware, InputAwareTraining
from .attacks.poisoning import PoisonedSet, poison, triggered_non_target
from .attacks.settings import load_attack_settings
from .attacks.triggers import make_trigger
from .checkpoints import config_key
from .datasets import load_splits
from .imageset import ImageSet
from .kinds.protocol import PhaseData
from .metrics import asr_and_ra, clean_accuracy, predict
from .models.classifier import Classifier, build_model
from .training import resolve_precision, train_classifier

# progress(stage, done, total, message, metrics)
ProgressFn = Callable[[str, int, int, str, dict[str, float]], None]


class ModelStore(Protocol):
    def load(self, key: str, model: nn.Module) -> dict[str, Any] | None: ...
    def save(self, key: str, model: nn.Module, meta: dict[str, Any]) -> None: ...


@dataclass
class Prepared:
    model: Classifier  # the backdoored model, on `device`, eval mode
    device: torch.device
    train: PoisonedSet
    test: ImageSet
    trigger: Trigger
    phase_data: PhaseData
    model_key: str
    cached: bool
    backdoor_metrics: dict[str, float] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)  # seconds per stage
    # The attack's target class; None while the trigger is unknown (then `trigger` leaves
    # images as they are). Where the trigger comes from: "attack" (planted here or given
    # by its attack settings), "file" (a triggered test set from the model's file),
    # "unknown".
    target: int | None = None
    trigger_source: str = "attack"
    # (N,) bool over `phase_data.pool`: which training samples are truly poisoned, when
    # known (planted here, a BackdoorBench file). For display of detection quality only:
    # the engine never hands it to a phase.
    truth: torch.Tensor | None = None
    # Where the forget set the first phases get comes from (events.RunStarted).
    forget_source: str = "oracle"


def resolve_device(name: str | None) -> torch.device:
    if name in (None, "", "auto"):
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    device = torch.device(str(name))
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device {name!r} was asked for, but CUDA is not available here")
    return device


def _no_progress(stage: str, done: int, total: int, msg: str, metrics: dict[str, float]) -> None:
    pass


def training_key_parts(cfg: RunConfig, device: torch.device | None = None) -> dict[str, Any]:
    """The training recipe as it enters a model's cache key.

    `precision` enters as what it resolves to on `device`, and only when that is not fp32,
    so keys of fp32 models stay what they were before the field existed.
    """
    parts: dict[str, Any] = {"training": cfg.training.model_dump(exclude={"precision"})}
    precision = resolve_precision(cfg.training.precision, device or torch.device("cpu"))
    if precision != "fp32":
        parts["precision"] = precision
    return parts


def backdoor_key(cfg: RunConfig, train: ImageSet, device: torch.device | None = None) -> str:
    return config_key(
        {
            "data": train.fingerprint(),
            # (source and file are left out: a model trained here keeps the key it had
            # before models could come from a file)
            "model": cfg.model.model_dump(exclude={"source", "file"}),
            # BadNets/Blended: every field, as before the newer attacks existed (their
            # cached models keep their keys); other attacks: their own fields only.
            "attack": cfg.attack.key_fields(),
            **training_key_parts(cfg, device),
            "mean": cfg.data.mean,
            "std": cfg.data.std,
            "augment": cfg.data.augment,
            "seed": cfg.seed,
        }
    )


def generator_key(key: str) -> str:
    """Store key of an input-aware attack's trigger generator, beside its model's."""
    return f"{key}-generator"


def trained_trigger(
    cfg: RunConfig, train: ImageSet, store: ModelStore | None, device: torch.device | None = None
) -> Trigger:
    """The run's trigger as its attack stage left it: an input-aware trigger's generator
    comes from the store (saved beside the backdoored model); others are made afresh."""
    trigger = make_trigger(cfg.attack, cfg.data.image_size, cfg.seed)
    if isinstance(trigger, InputAware):
        key = backdoor_key(cfg, train, device)
        if store is None or store.load(generator_key(key), trigger.generator) is None:
            raise ValueError(
                "the input-aware trigger generator of this run is not in the model cache "
                f"(key {generator_key(key)}); run the attack again to train it"
            )
        trigger.generator.eval()
    return trigger


def progress_total(cfg: RunConfig, n_train: int) -> int:
    """Batches of the attack training, as its progress events count them."""
    return max(1, n_train // cfg.training.batch_size) * cfg.training.epochs


def seeded_model(cfg: RunConfig, num_classes: int, device: torch.device) -> Classifier:
    """The run's model, initialised from `cfg.seed`: clean and backdoored start alike."""
    torch.manual_seed(cfg.seed)
    return build_model(
        cfg.model.name,
        num_classes,
        cfg.data.mean,
        cfg.data.std,
        cfg.model.width,
        cfg.model.cam_layer,
    ).to(device)


def defense_sets(
    cfg: RunConfig, poisoned: PoisonedSet, true_labels: torch.Tensor | None = None
) -> PhaseData:
    """The defender's knowledge: a little trusted clean data, the training set to search,
    and, with the oracle on, some of the truly poisoned samples as the forget set.

    The clean set stands for data the defender has verified (as NAD, ANP and I-BAU assume),
    so it is drawn from the training images the attack left alone; with the oracle off no
    phase learns from it which samples are poisoned. The oracle's samples are kept as the
    attacker's own for the attacks (`relearn`, `qra`) alone, like the attack's trigger;
    with `true_labels` (the training labels before poisoning, (N,)) their true classes for
    the exact-purification oracle (`ep`) alone.
    """
    gen = torch.Generator().manual_seed(cfg.seed + 7)
    data = poisoned.data
    forget_idx = poisoned.poisoned[torch.randperm(len(poisoned.poisoned), generator=gen)]
    forget_idx = forget_idx[: cfg.defense.forget_size]
    oracle = data.subset(forget_idx)
    is_clean = torch.ones(len(data), dtype=torch.bool)
    is_clean[poisoned.poisoned] = False
    clean_idx = torch.nonzero(is_clean).flatten()
    n_clean = max(1, round(cfg.defense.clean_fraction * len(data)))
    clean_idx = clean_idx[torch.randperm(len(clean_idx), generator=gen)][:n_clean]
    forget = oracle if cfg.oracle else data.subset(forget_idx[:0])
    return PhaseData(
        forget,
        data.subset(clean_idx),
        cfg.data.augment,
        pool=data,
        attack_samples=oracle,
        attack_true_labels=None if true_labels is None else true_labels[forget_idx].clone(),
    )


def truth_mask(n: int, poisoned: torch.Tensor) -> torch.Tensor:
    """(n,) bool: True at the poisoned indices."""
    mask = torch.zeros(n, dtype=torch.bool)
    mask[poisoned] = True
    return mask


def poison_train(cfg: RunConfig, train: ImageSet, trigger: Trigger) -> PoisonedSet:
    return poison(train, trigger, cfg.attack.target_class, cfg.attack.poison_rate, cfg.seed)


def input_aware_hook(cfg: RunConfig, trigger: InputAware) -> InputAwareTraining:
    a = cfg.attack
    s = load_attack_settings(a.kind, a.settings)
    assert isinstance(s, InputAwareSettings)
    return InputAwareTraining(
        trigger.generator,
        target=a.target_class,
        attack_rate=a.poison_rate,
        cross_rate=s.cross_rate,
        mask_density=s.mask_density,
        lambda_div=s.lambda_div,
        lambda_norm=s.lambda_norm,
        lr=s.generator_lr,
        seed=cfg.seed,
    )


def prepare(
    cfg: RunConfig,
    device: torch.device,
    data_dir: str | Path | None = None,
    data_cache_dir: Path | None = None,
    store: ModelStore | None = None,
    progress: ProgressFn = _no_progress,
) -> Prepared:
    if cfg.model.imported:
        raise ValueError("a model from a file is prepared by ml.foreign.prepare_imported")
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    progress("data", 0, 1, f"loading {cfg.data.name}", {})
    train, test = load_splits(
        cfg.data,
        data_dir,
        seed=cfg.seed,
        cache_dir=data_cache_dir,
        progress=lambda d, t, m: progress("data", d, t, m, {}),
    )
    progress("data", 1, 1, f"{len(train)} train / {len(test)} test images", {})
    trigger = make_trigger(cfg.attack, cfg.data.image_size, cfg.seed)
    # A dynamic (input-aware) attack poisons each batch while it trains; its static
    # poisoned set (the defender's forget set) is stamped once its generator is trained.
    dynamic = isinstance(trigger, InputAware)
    poisoned = None if dynamic else poison_train(cfg, train, trigger)
    timings["data"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    model = seeded_model(cfg, len(train.classes), device)
    key = backdoor_key(cfg, train if poisoned is None else poisoned.data, device)
    meta = store.load(key, model) if store is not None else None
    if meta is not None and isinstance(trigger, InputAware):
        assert store is not None
        if store.load(generator_key(key), trigger.generator) is None:
            meta = None  # a model without its generator: train both again
    cached = meta is not None
    if not cached:
        hook = None
        if isinstance(trigger, InputAware):
            trigger.generator.to(device)
            hook = input_aware_hook(cfg, trigger)
        stats = train_classifier(
            model,
            train if poisoned is None else poisoned.data,
            cfg.training,
            cfg.data.augment,
            cfg.seed,
            progress=lambda d, t, m: progress(
                "attack_training", d, t, "training backdoored model", m
            ),
            hook=hook,
        )
        if isinstance(trigger, InputAware):
            trigger.generator.cpu().eval()
        total = progress_total(cfg, len(train))
        progress("attack_training", total, total, "evaluating the backdoored model", {})
        asr_set = triggered_non_target(test, trigger, cfg.attack.target_class)
        pred = predict(model, asr_set.images)
        asr, ra = asr_and_ra(pred, cfg.attack.target_class, asr_set.labels)
        meta = {
            "config": cfg.model_dump(mode="json"),
            "data_fingerprint": (train if poisoned is None else poisoned.data).fingerprint(),
            "metrics": {
                **stats,
                "ca": clean_accuracy(model, test.images, test.labels),
                "asr": asr,
                "ra": ra,
            },
        }
        if store is not None:
            store.save(key, model, meta)
            if isinstance(trigger, InputAware):
                store.save(generator_key(key), trigger.generator, {"model_key": key})
    else:
        progress("attack_training", 1, 1, "backdoored model loaded from cache", {})
    model.eval()
    if poisoned is None:
        poisoned = poison_train(cfg, train, trigger)
    timings["attack_training"] = time.perf_counter() - t0
    return Prepared(
        model=model,
        device=device,
        train=poisoned,
        test=test,
        trigger=trigger,
        phase_data=defense_sets(cfg, poisoned, train.labels),
        model_key=key,
        cached=cached,
        backdoor_metrics=dict((meta or {}).get("metrics", {})),
        timings=timings,
        target=cfg.attack.target_class,
        truth=truth_mask(len(poisoned.data), poisoned.poisoned),
        forget_source="oracle" if cfg.forget_given else "none",
    )
