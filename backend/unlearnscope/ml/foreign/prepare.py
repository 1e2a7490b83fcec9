"""Preparation of a run on the user's own backdoored model (`model.source` file or
backdoorbench): load the data and the model, nothing planted and nothing trained here.

- `file`: a checkpoint for a registry architecture or a torchvision/timm one by name. The
  trigger is known when `attack.known` (the attack's settings describe it and it is
  stamped on the clean test set) or unknown (ASR and TAR wait for a recovered trigger).
  There is no forget set: no one has identified poisoned samples.
- `backdoorbench`: BackdoorBench's `attack_result.pt`: its model (PreAct-ResNet-18), its
  triggered test set `bd_test` (paired with the user's clean test images through
  `original_index`) and its poisoned training samples `bd_train` as the forget set.

The clean data is the run's `data` section, as for every run; the defender holds
`defense.clean_fraction` of its training split.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import torch

from ...config import CheckConfig, RunConfig
from ...config.model import is_named
from ..attacks.base import Trigger
from ..attacks.inputaware.trigger import InputAware
from ..attacks.poisoning import PoisonedSet
from ..attacks.triggers import make_trigger
from ..checkpoints import file_sha256
from ..datasets import balanced_subset, load_splits
from ..imageset import ImageSet
from ..kinds.protocol import PhaseData
from ..models.classifier import Classifier, build_model
from ..preparation import Prepared, ProgressFn
from .backdoorbench import BackdoorBenchResult, read_backdoorbench
from .folders import forget_folder, triggered_folder
from .state import ImportRefused, load_into, read_state_dict
from .triggers import NoTrigger, PairedTrigger

PAIRED_AGREEMENT = 0.9  # share of bd_test's true labels the clean test data must agree with


def model_file(file: str | None, data_dir: str | Path | None) -> Path:
    """The model file's path: absolute as given, else under the data directory."""
    if file is None:
        raise ImportRefused("no model file given (model.file)")
    path = Path(file).expanduser()
    if not path.is_absolute():
        if data_dir is None:
            raise ImportRefused(
                f"model.file {file!r} is relative, but there is no data directory to look in"
            )
        path = Path(data_dir) / path
    if not path.is_file():
        raise ImportRefused(f"there is no model file at {path}")
    return path


def build_for(cfg: RunConfig | CheckConfig, name: str, num_classes: int) -> Classifier:
    """The model `name` (registry or torchvision/timm by name) with the run's
    normalisation, initialised from the seed (the weights then come from the file)."""
    torch.manual_seed(cfg.seed)
    if is_named(name):
        from ..models.classifier import build_named_classifier

        return build_named_classifier(
            name,
            num_classes,
            cfg.data.mean,
            cfg.data.std,
            cfg.data.image_size,
            cfg.model.cam_layer,
        )
    return build_model(
        name, num_classes, cfg.data.mean, cfg.data.std, cfg.model.width, cfg.model.cam_layer
    )


@dataclass
class Loaded:
    """The user's model and, from a BackdoorBench file, what else it brought."""

    model: Classifier
    path: Path
    key: str  # "file-" + the first 20 hex digits of the file's sha256
    bench: BackdoorBenchResult | None = None


def load_user_model(
    cfg: RunConfig | CheckConfig, num_classes: int, data_dir: str | Path | None
) -> Loaded:
    """Build the architecture and load the user's weights into it (ImportRefused with the
    reason when the file does not fit)."""
    path = model_file(cfg.model.file, data_dir)
    key = "file-" + file_sha256(path)[:20]  # runs on the same file group together
    if cfg.model.source == "backdoorbench":
        bench = read_backdoorbench(path)
        if bench.our_model_name is None:
            raise ImportRefused(
                f"the BackdoorBench model {bench.model_name!r} has no counterpart here; "
                "supported: preactresnet18 (as PreAct-ResNet-18)"
            )
        if bench.num_classes != num_classes:
            raise ImportRefused(
                f"the BackdoorBench file's model has {bench.num_classes} classes, the data "
                f"has {num_classes}: give the clean data it was trained on ({bench.clean_data})"
            )
        size = cfg.data.image_size
        if tuple(bench.image_size) != (size, size):
            raise ImportRefused(
                f"the BackdoorBench file's images are {bench.image_size[0]}x"
                f"{bench.image_size[1]}, the run's data.image_size is {size}: set it to match"
            )
        model = build_for(cfg, bench.our_model_name, num_classes)
        what = f"{bench.our_model_name} with {num_classes} classes"
        load_into(model.get_submodule("net"), bench.state, what)
        return Loaded(model, path, key, bench)
    model = build_for(cfg, cfg.model.name, num_classes)
    what = f"{cfg.model.name} with {num_classes} classes"
    load_into(model.get_submodule("net"), read_state_dict(path), what)
    return Loaded(model, path, key)


def paired_trigger(bench: BackdoorBenchResult, full_test: ImageSet) -> tuple[PairedTrigger, int]:
    """BackdoorBench's triggered test images paired with the clean test images they were
    made from (`original_index`), and the target class (the label bd_test asks for)."""
    idx = bench.bd_test_original_index.long()
    if len(idx) == 0:
        raise ImportRefused("the BackdoorBench file's bd_test holds no images")
    if int(idx.max()) >= len(full_test):
        raise ImportRefused(
            f"bd_test refers to clean test image {int(idx.max())}, but the clean test data "
            f"has {len(full_test)}: give the whole test split it was made from"
        )
    if bench.bd_test_original_labels is not None:
        agree = (full_test.labels[idx] == bench.bd_test_original_labels.long()).float().mean()
        if float(agree) < PAIRED_AGREEMENT:
            raise ImportRefused(
                f"the clean test data does not match the BackdoorBench file: only "
                f"{100 * float(agree):.0f}% of bd_test's original labels agree with the test "
                "images at their original_index; is this the same data set, in the same order?"
            )
    target = int(torch.mode(bench.bd_test_labels.long()).values)
    return PairedTrigger(full_test.images[idx], bench.bd_test_images), target


def user_path(path: str, data_dir: str | Path | None) -> Path:
    """A folder or file the user named: absolute, or under the data directory."""
    p = Path(path).expanduser()
    return p if p.is_absolute() or data_dir is None else Path(data_dir) / p


def known_trigger(
    cfg: RunConfig | CheckConfig, num_classes: int, data_dir: str | Path | None = None
) -> Trigger:
    """The trigger as the user described it: their triggered test images (paired with
    the clean ones), else the attack's settings stamped on the clean test set."""
    if cfg.attack.target_class >= num_classes:
        raise ImportRefused(
            f"attack.target_class {cfg.attack.target_class} is not a class of the data "
            f"(0-{num_classes - 1})"
        )
    if cfg.attack.triggered_root is not None:
        root = cfg.data.root if cfg.data.root is not None else data_dir
        if root is None:
            raise ImportRefused("attack.triggered_root needs the clean image folder (data.root)")
        return triggered_folder(
            user_path(cfg.attack.triggered_root, data_dir),
            Path(root).expanduser(),
            cfg.data.image_size,
        )
    trigger = make_trigger(cfg.attack, cfg.data.image_size, cfg.seed)
    if isinstance(trigger, InputAware):
        raise ImportRefused(
            "an input-aware trigger comes from its attacker's generator network, which a "
            "model file does not hold: set attack.known off (trigger unknown)"
        )
    return trigger


def defender_sets(
    cfg: RunConfig,
    train: ImageSet,
    forget: ImageSet,
    pool: ImageSet | None = None,
    attack_samples: ImageSet | None = None,
    attack_true_labels: torch.Tensor | None = None,
) -> PhaseData:
    """The defender's clean share of the training data, the training set to search and
    the identified poisoned samples (capped at defense.forget_size)."""
    gen = torch.Generator().manual_seed(cfg.seed + 7)
    n_clean = max(1, round(cfg.defense.clean_fraction * len(train)))
    clean = train.subset(torch.randperm(len(train), generator=gen)[:n_clean])
    forget = forget.subset(torch.arange(min(len(forget), cfg.defense.forget_size)))
    if attack_samples is not None:  # the attacker's own, for the attacks only (capped)
        keep = torch.arange(min(len(attack_samples), cfg.defense.forget_size))
        attack_samples = attack_samples.subset(keep)
        if attack_true_labels is not None:  # their true classes, for ep (an oracle) only
            attack_true_labels = attack_true_labels[keep]
    return PhaseData(
        forget,
        clean,
        cfg.data.augment,
        pool=train if pool is None else pool,
        attack_samples=attack_samples,
        attack_true_labels=attack_true_labels,
    )


def prepare_imported(
    cfg: RunConfig,
    device: torch.device,
    data_dir: str | Path | None,
    data_cache_dir: Path | None,
    progress: ProgressFn,
) -> Prepared:
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    progress("data", 0, 1, f"loading {cfg.data.name}", {})
    bench_file = cfg.model.source == "backdoorbench"
    # A BackdoorBench file points into the whole clean test split: load it whole, then
    # take the run's sub-sample from it.
    data_cfg = cfg.data.model_copy(update={"test_size": None}) if bench_file else cfg.data
    train, test = load_splits(
        data_cfg,
        data_dir,
        seed=cfg.seed,
        cache_dir=data_cache_dir,
        progress=lambda d, t, m: progress("data", d, t, m, {}),
    )
    full_test = test
    if bench_file:
        test = test.subset(balanced_subset(test.labels, cfg.data.test_size, cfg.seed + 1))
    progress("data", 1, 1, f"{len(train)} train / {len(test)} test images", {})
    timings["data"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    k = len(train.classes)
    progress("model", 0, 1, f"loading your model from {Path(str(cfg.model.file)).name}", {})
    loaded = load_user_model(cfg, k, data_dir)
    model = loaded.model.to(device).eval()
    empty = ImageSet(
        torch.empty((0, 3, cfg.data.image_size, cfg.data.image_size), dtype=torch.uint8),
        torch.empty(0, dtype=torch.long),
        list(train.classes),
    )
    trigger: Trigger
    target: int | None
    forget, source = empty, "attack"
    if not cfg.attack.known:
        trigger, target, source = NoTrigger(cfg.data.image_size), None, "unknown"
    elif loaded.bench is not None:
        trigger, target = paired_trigger(loaded.bench, full_test)
        source = "file"
    else:
        trigger, target = known_trigger(cfg, k, data_dir), cfg.attack.target_class
        source = "folder" if cfg.attack.triggered_root is not None else "attack"
    bench = loaded.bench
    truth: torch.Tensor | None = None
    pool: ImageSet | None = None
    listed: ImageSet | None = None  # bd_train: the attacker's own, for the attacks
    listed_true: torch.Tensor | None = None  # their true classes, where known (ep)
    forget_source = "none"
    if bench is not None and bench.bd_train_images is not None:
        assert bench.bd_train_labels is not None
        # The training set the model was trained on: the clean one with bd_train's samples
        # in their places (BackdoorBench's original_index), and so the truth.
        pool, truth = with_poisoned(train, bench)
        listed = ImageSet(bench.bd_train_images, bench.bd_train_labels, list(train.classes))
        index = bench.bd_train_original_index
        if len(pool) == len(train) and index is not None:  # put back in their places:
            listed_true = train.labels[index]  # the clean set's labels there are true
        if cfg.oracle:
            forget = listed
            forget_source = "oracle"
    if cfg.defense.forget_root is not None:
        forget_source = "folder"
        label = cfg.attack.target_class if cfg.attack.known else None
        forget = forget_folder(
            user_path(cfg.defense.forget_root, data_dir),
            list(train.classes),
            label,
            cfg.data.image_size,
        )
    # (its clean accuracy and ASR come with the evaluation before unlearning, next)
    n_params = sum(p.numel() for p in model.parameters())
    progress("model", 1, 1, f"your model is loaded: {n_params:,} parameters", {})
    timings["model"] = time.perf_counter() - t0
    return Prepared(
        model=model,
        device=device,
        train=PoisonedSet(train, torch.empty(0, dtype=torch.long)),
        test=test,
        trigger=trigger,
        phase_data=defender_sets(cfg, train, forget, pool, listed, listed_true),
        model_key=loaded.key,
        cached=False,
        timings=timings,
        target=target,
        trigger_source=source,
        truth=truth,
        forget_source=forget_source if len(forget) and cfg.defense.forget_size else "none",
    )


def with_poisoned(train: ImageSet, bench: BackdoorBenchResult) -> tuple[ImageSet, torch.Tensor]:
    """The clean training set with a BackdoorBench record's poisoned samples put in their
    places (`bd_train_original_index`), and the (N,) bool mask of those places. Where the
    record's index does not fit the clean set (another split), the training set is the
    clean one followed by the poisoned samples."""
    assert bench.bd_train_images is not None and bench.bd_train_labels is not None
    images, labels = bench.bd_train_images, bench.bd_train_labels
    index = bench.bd_train_original_index
    n = len(train)
    fits = (
        index is not None
        and len(index) == len(images)
        and images.shape[1:] == train.images.shape[1:]
        and bool((index >= 0).all())
        and bool((index < n).all())
        and len(torch.unique(index)) == len(index)
    )
    if fits:
        assert index is not None
        all_images, all_labels = train.images.clone(), train.labels.clone()
        all_images[index] = images
        all_labels[index] = labels
        truth = torch.zeros(n, dtype=torch.bool)
        truth[index] = True
        return ImageSet(all_images, all_labels, list(train.classes)), truth
    all_images = torch.cat([train.images, images])
    all_labels = torch.cat([train.labels, labels])
    truth = torch.cat([torch.zeros(n, dtype=torch.bool), torch.ones(len(images), dtype=torch.bool)])
    return ImageSet(all_images, all_labels, list(train.classes)), truth
