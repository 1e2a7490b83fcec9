"""Server-side limits on a run, checked before it is stored (docs/api.md, Limits).

A RunConfig may be valid and still more than this server should take on: a schedule of
millions of steps, 256-pixel images in batches of 4096, a data set that does not fit in
memory. Each limit is a setting (UNLEARNSCOPE_MAX_*); a config past one is refused with
422, naming the field and the setting, before anything is written.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, TypeVar

from ..config import CheckConfig, RunConfig
from ..config.common import FIXED_CLASSES
from ..settings import Settings
from .errors import InvalidInput, LimitExceeded

MIB = 1024 * 1024
# Whole splits, when train_size/test_size are None (imagefolder: the server's cap).
FULL_SPLITS = {
    "shapes": (60_000, 10_000),
    "cifar10": (50_000, 10_000),
    "cifar100": (50_000, 10_000),
    "gtsrb": (26_640, 12_630),
}
ACTIVATION_FACTOR = 8  # feature maps of a CNN forward + backward, per first-block map


def physical_memory() -> int | None:
    """Bytes of RAM of this machine, or None where the OS does not say."""
    try:
        return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return None


def memory_limit(settings: Settings) -> int | None:
    if settings.max_run_memory_mb is not None:
        return settings.max_run_memory_mb * MIB
    ram = physical_memory()
    return ram // 2 if ram else None


def estimate_memory(cfg: RunConfig, max_split: int) -> int:
    """A rough upper estimate of a run's memory, bytes: both splits as uint8 images, the
    training activations of the largest batch, and the monitor's Grad-CAM batches."""
    side = cfg.data.image_size
    pixels = 3 * side * side
    full = FULL_SPLITS.get(cfg.data.name, (max_split, max_split))
    train = cfg.data.train_size or full[0]
    test = cfg.data.test_size or full[1]
    data = (train + test) * pixels * 2  # uint8 splits, plus the poisoned/triggered copies
    width = 64 if cfg.model.name == "resnet18" else cfg.model.width
    batch = max([cfg.training.batch_size, *(p.batch_size for p in cfg.schedule)])
    fmap = width * side * side * 4  # one float32 feature map of the first block
    train_act = batch * fmap * ACTIVATION_FACTOR
    cam_batch = min(cfg.monitor.tar_set_size, 256) + 2 * cfg.monitor.probe_count
    monitor = cam_batch * fmap * ACTIVATION_FACTOR + cfg.monitor.eval_size * pixels * 4
    return data + train_act + monitor


def data_classes(cfg: RunConfig, settings: Settings) -> int | None:
    """How many classes the run's data has, without loading it (an image folder: its
    class folders under train/); None when that cannot be told here."""
    fixed = FIXED_CLASSES.get(cfg.data.name)
    if fixed is not None:
        return fixed
    root = cfg.data.root if cfg.data.root is not None else settings.data_dir
    if root is None:
        return None
    train = Path(root).expanduser() / "train"
    try:
        return sum(1 for p in train.iterdir() if p.is_dir()) or None
    except OSError:
        return None


def check_budgets(cfg: RunConfig, settings: Settings) -> None:
    """422 for a phase whose per-class budget cannot cover the data's classes (Neural
    Cleanse with 100 steps a class on 43 classes needs more than 1,200 steps)."""
    from ..ml.kinds.settings import budget_problems

    n_classes = data_classes(cfg, settings)
    if n_classes is None:
        return
    for i, problem in budget_problems(cfg.schedule, n_classes)[:1]:
        line = f"schedule.{i}.steps: {problem}"
        raise InvalidInput(line, errors=[line], fields=[f"schedule.{i}.steps"])


def check_limits(cfg: RunConfig, settings: Settings) -> None:
    """LimitExceeded (422) for the first limit `cfg` goes past."""
    s = settings

    def over(value: int, limit: int, field: str, setting: str, what: str) -> None:
        if value > limit:
            raise LimitExceeded(
                f"{what} is {value}; this server allows at most {limit} "
                f"(setting UNLEARNSCOPE_{setting.upper()})",
                limit=setting,
                field=field,
            )

    over(cfg.total_steps(), s.max_total_steps, "schedule", "max_total_steps", "total steps")
    over(cfg.training.epochs, s.max_epochs, "training.epochs", "max_epochs", "epochs")
    over(cfg.data.image_size, s.max_image_size, "data.image_size", "max_image_size", "size")
    over(
        cfg.training.batch_size,
        s.max_batch_size,
        "training.batch_size",
        "max_batch_size",
        "batch size",
    )
    for i, phase in enumerate(cfg.schedule):
        over(
            phase.batch_size,
            s.max_batch_size,
            f"schedule.{i}.batch_size",
            "max_batch_size",
            "batch size",
        )
    m = cfg.monitor
    over(m.probe_count, s.max_probe_count, "monitor.probe_count", "max_probe_count", "probes")
    over(m.tar_set_size, s.max_tar_set_size, "monitor.tar_set_size", "max_tar_set_size", "size")
    over(m.eval_size, s.max_tar_set_size, "monitor.eval_size", "max_tar_set_size", "size")
    for name in ("train_size", "test_size"):
        value = getattr(cfg.data, name)
        if value is not None:
            over(value, s.max_dataset_size, f"data.{name}", "max_dataset_size", "images")
    limit = memory_limit(s)
    need = estimate_memory(cfg, s.max_dataset_size)
    if limit is not None and need > limit:
        raise LimitExceeded(
            f"this run needs an estimated {need / MIB:,.0f} MiB of memory (data set, "
            f"activations of the largest batch, monitoring); this server allows "
            f"{limit / MIB:,.0f} MiB per run (setting UNLEARNSCOPE_MAX_RUN_MEMORY_MB): use "
            "smaller images, batches, widths or data sets",
            limit="max_run_memory_mb",
            field="config",
        )


def _inside(path: Path, roots: list[Path]) -> bool:
    return any(path == root or root in path.parents for root in roots)


Paths = TypeVar("Paths", RunConfig, CheckConfig)


def server_paths(cfg: Paths, settings: Settings) -> Paths:
    """The run with its relative data.root and model.file made absolute under the
    server's data root (data directory, else home/data: where uploads land)."""
    base = settings.data_root.expanduser()

    def absolute(section: Any, field: str) -> Any:
        value = getattr(section, field)
        if value is None or Path(value).expanduser().is_absolute():
            return section
        return section.model_copy(update={field: str(base / value)})

    update = {
        "data": absolute(cfg.data, "root"),
        "model": absolute(cfg.model, "file"),
        "attack": absolute(cfg.attack, "triggered_root"),
    }
    if isinstance(cfg, RunConfig):
        update["defense"] = absolute(cfg.defense, "forget_root")
    return cfg.model_copy(update=update)


def user_paths(cfg: RunConfig | CheckConfig) -> list[tuple[str, str]]:
    """(field, path) of every file or folder of the user's a run reads."""
    paths = [
        ("model.file", cfg.model.file),
        ("attack.triggered_root", cfg.attack.triggered_root),
    ]
    if isinstance(cfg, RunConfig):
        paths.append(("defense.forget_root", cfg.defense.forget_root))
    return [(field, p) for field, p in paths if p is not None]


def check_data_root(cfg: RunConfig | CheckConfig, settings: Settings) -> None:
    """data.root and model.file only inside the data directory, its uploads (or the
    cache); downloads only there.

    The messages name the settings, never the path given or the server's folders.
    """
    roots = [
        p.expanduser().resolve()
        for p in (settings.data_dir, settings.cache_dir, settings.uploads_dir)
        if p
    ]
    for field, given in user_paths(cfg):
        path = Path(given).expanduser().resolve()
        if not _inside(path, roots):
            line = (
                f"{field}: must be inside the server's data directory "
                "(UNLEARNSCOPE_DATA_DIR / serve --data-dir) or its uploads (POST /api/files)"
            )
            raise InvalidInput(line, errors=[line], fields=[field])
        if not (path.is_file() if field == "model.file" else path.is_dir()):
            what = "file" if field == "model.file" else "folder"
            line = f"{field}: there is no such {what} on the server; upload it first"
            raise InvalidInput(line, errors=[line], fields=[field])
    root = cfg.data.root
    if root is not None and not _inside(Path(root).expanduser().resolve(), roots):
        line = (
            "data.root: must be a folder inside the server's data directory "
            "(UNLEARNSCOPE_DATA_DIR / serve --data-dir) or its cache; leave it out to use "
            "the data directory itself"
        )
        raise InvalidInput(line, errors=[line], fields=["data.root"])
    if cfg.data.download and root is None and settings.data_dir is None:
        line = (
            "data.download: this server has no data directory to download into; start it "
            "with --data-dir (UNLEARNSCOPE_DATA_DIR)"
        )
        raise InvalidInput(line, errors=[line], fields=["data.download"])
