"""The check before a run on the user's model: load it, run one batch, say what was found.

A wrong normalisation, class order or input size shows up here in seconds (clean accuracy
near chance, ASR near zero on a known trigger), not after an hour of unlearning.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch

from ...config import CheckConfig
from ..attacks.base import Trigger
from ..cam import make_cam
from ..datasets import load_splits
from ..metrics import asr_and_ra, predict
from ..models.classifier import count_parameters
from .prepare import known_trigger, load_user_model, paired_trigger

SAMPLE = 256  # test images the check classifies


@dataclass
class CheckReport:
    model: str  # the architecture as built
    source: str  # train | file | backdoorbench
    file: str
    model_key: str
    n_params: int
    image_size: int
    num_classes: int
    classes: list[str]
    cam_layer: str
    sample: int  # test images classified
    clean_accuracy: float  # percent, on the sample
    chance: float  # percent: what guessing would get
    trigger: str  # "unknown" | "attack" | "file"
    target_class: int | None = None
    asr: float | None = None  # percent, on the sample's non-target images, triggered
    forget_size: int = 0  # identified poisoned samples the file brings (BackdoorBench)
    seconds: float = 0.0
    warnings: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def check_model(
    cfg: CheckConfig,
    data_dir: str | Path | None,
    data_cache_dir: Path | None = None,
    sample: int = SAMPLE,
) -> CheckReport:
    """Load the run's model (ImportRefused when it does not fit) and measure it on a sample
    of the clean test data, and on the triggered one when the trigger is known."""
    t0 = time.perf_counter()
    bench = cfg.model.source == "backdoorbench"
    data_cfg = cfg.data.model_copy(update={"test_size": None}) if bench else cfg.data
    train, test = load_splits(data_cfg, data_dir, seed=cfg.seed, cache_dir=data_cache_dir)
    k = len(train.classes)
    loaded = load_user_model(cfg, k, data_dir)
    model = loaded.model.eval()
    gen = torch.Generator().manual_seed(cfg.seed)
    idx = torch.randperm(len(test), generator=gen)[:sample]
    images, labels = test.images[idx], test.labels[idx]
    pred = predict(model, images)
    ca = 100.0 * float((pred == labels).float().mean())
    # one CAM pass: the CAM layer must produce finite maps for this model
    with make_cam(cfg.monitor.cam_method, model) as cam:
        maps = cam(images[:4].float() / 255).maps
    warnings: list[str] = []
    if not bool(torch.isfinite(maps).all()):
        warnings.append(f"the CAM layer {model.cam_layer_name} gives non-finite maps")
    chance = 100.0 / k
    if ca < 2 * chance:
        warnings.append(
            f"clean accuracy {ca:.1f}% is near chance ({chance:.1f}%): check the normalisation "
            "(data.mean, data.std), the input size and the class order of the data"
        )
    report = CheckReport(
        model=cfg.model.name if loaded.bench is None else str(loaded.bench.our_model_name),
        source=cfg.model.source,
        file=str(loaded.path.name),
        model_key=loaded.key,
        n_params=count_parameters(model),
        image_size=cfg.data.image_size,
        num_classes=k,
        classes=list(train.classes),
        cam_layer=model.cam_layer_name,
        sample=len(idx),
        clean_accuracy=ca,
        chance=chance,
        trigger=(
            "unknown"
            if not cfg.attack.known
            else "file"
            if bench
            else "folder"
            if cfg.attack.triggered_root
            else "attack"
        ),
        warnings=warnings,
    )
    if loaded.bench is not None and loaded.bench.bd_train_images is not None:
        report.forget_size = len(loaded.bench.bd_train_images)
    if cfg.attack.known:
        trigger: Trigger
        if loaded.bench is not None:
            trigger, target = paired_trigger(loaded.bench, test)
        else:
            trigger, target = known_trigger(cfg, k, data_dir), cfg.attack.target_class
        # a sample of the non-target test images the trigger covers (a given triggered
        # set may hold fewer than the whole test set)
        keep = (test.labels != target) & trigger.covers(test.images)
        pool = torch.nonzero(keep).flatten()
        pool = pool[torch.randperm(len(pool), generator=gen)][:sample]
        if len(pool):
            stamped = trigger.apply(test.images[pool])
            asr, _ = asr_and_ra(predict(model, stamped), target, test.labels[pool])
            report.asr, report.target_class = asr, target
            if asr < 50:
                warnings.append(
                    f"the trigger sends only {asr:.1f}% of the sample to class {target}: is "
                    "the trigger (or target class) right, or is there no backdoor?"
                )
    report.seconds = time.perf_counter() - t0
    return report
