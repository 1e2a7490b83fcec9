"""What a defender holding a checkpoint may also have, as image files.

- The identified poisoned samples (`defense.forget_root`): a folder of images, each
  labelled `attack.target_class` (the label they were poisoned with), or one folder per
  class named as the data's classes.
- The test set stamped with the trigger (`attack.triggered_root`): a folder mirroring the
  clean image folder's test split, `test/<class>/<the same file name>`. Each triggered
  image is paired with the clean image of the same path (a `PairedTrigger`), so ASR, the
  trigger region (what changed) and TAR work as for any other trigger.
"""

from __future__ import annotations

from pathlib import Path

import torch

from ..datasets import IMAGE_EXTENSIONS, decode_all
from ..imageset import ImageSet
from .state import ImportRefused
from .triggers import PairedTrigger


def _images_under(folder: Path) -> list[Path]:
    return sorted(
        p for p in folder.rglob("*") if p.is_file() and p.name.lower().endswith(IMAGE_EXTENSIONS)
    )


def forget_folder(root: Path, classes: list[str], target: int | None, image_size: int) -> ImageSet:
    """The identified poisoned samples, with their (poisoned) labels."""
    if not root.is_dir():
        raise ImportRefused(f"defense.forget_root: there is no folder {root.name!r}")
    flat = sorted(p for p in root.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_EXTENSIONS)
    subdirs = sorted(p for p in root.iterdir() if p.is_dir())
    paths: list[Path] = []
    labels: list[int] = []
    if flat:
        if target is None:
            raise ImportRefused(
                "defense.forget_root holds images without class folders: they take "
                "attack.target_class as their label, so the trigger's target class must be "
                "known (or put them in folders named after their classes)"
            )
        paths += flat
        labels += [target] * len(flat)
    for d in subdirs:
        if d.name not in classes:
            raise ImportRefused(
                f"defense.forget_root: the folder {d.name!r} is not a class of the data "
                f"({', '.join(classes[:10])}{', ...' if len(classes) > 10 else ''})"
            )
        found = _images_under(d)
        paths += found
        labels += [classes.index(d.name)] * len(found)
    if not paths:
        raise ImportRefused("defense.forget_root holds no images")
    images = decode_all(paths, image_size, None, "forget-set")
    return ImageSet(images, torch.tensor(labels, dtype=torch.long), list(classes))


def triggered_folder(triggered_root: Path, clean_root: Path, image_size: int) -> PairedTrigger:
    """The user's triggered test images paired with the clean test images of the same
    relative path (test/<class>/<file>)."""
    triggered = triggered_root / "test" if (triggered_root / "test").is_dir() else triggered_root
    clean = clean_root / "test"
    if not triggered.is_dir():
        raise ImportRefused(f"attack.triggered_root: there is no folder {triggered_root.name!r}")
    pairs = [
        (p, clean / p.relative_to(triggered))
        for p in _images_under(triggered)
        if (clean / p.relative_to(triggered)).is_file()
    ]
    if not pairs:
        raise ImportRefused(
            "attack.triggered_root: none of its images has a clean counterpart of the same "
            "name under the data's test/ folder (expected test/<class>/<file name>)"
        )
    stamped = decode_all([t for t, _ in pairs], image_size, None, "triggered")
    originals = decode_all([c for _, c in pairs], image_size, None, "clean")
    return PairedTrigger(originals, stamped)
