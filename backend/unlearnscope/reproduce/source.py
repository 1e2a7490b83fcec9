"""Where --data-dir points: the JPEG archive, an ImageFolder root or torchvision's batches."""

from __future__ import annotations

import os
import shutil
import sys
import tarfile
from dataclasses import dataclass
from pathlib import Path

from tqdm import tqdm

from ..commands.inputs import BadInput
from ..ml.checkpoints import file_sha256

ARCHIVE_SUFFIXES = (".tar.gz", ".tgz", ".tar")
CIFAR_BATCHES = "cifar-10-batches-py"


@dataclass
class DataSource:
    kind: str  # "imagefolder" | "cifar10": the RunConfig data.name
    root: Path  # what load_splits reads
    given: str  # what the user passed
    how: str  # how it was found, for the table

    def describe(self) -> str:
        return f"{self.how}: {self.given}"


def _is_imagefolder(path: Path) -> bool:
    return (path / "train").is_dir() and (path / "test").is_dir()


def _is_cifar_batches(path: Path) -> bool:
    return (path / CIFAR_BATCHES).is_dir() or (
        path.name == CIFAR_BATCHES and (path / "batches.meta").exists()
    )


def _find_layout(folder: Path) -> tuple[str, Path] | None:
    """("cifar10" | "imagefolder", root) for `folder` or its only sub-folder; None if neither."""
    candidates = [folder]
    subdirs = [d for d in folder.iterdir() if d.is_dir() and not d.name.startswith(".")]
    if len(subdirs) == 1:
        candidates.append(subdirs[0])
    for path in candidates:
        if _is_cifar_batches(path):
            return "cifar10", path.parent if path.name == CIFAR_BATCHES else path
        if _is_imagefolder(path):
            return "imagefolder", path
    return None


def unpack_archive(archive: Path, dest_root: Path) -> Path:
    """Unpack `archive` once into `dest_root/<name>-<sha256>`; later calls reuse it.

    Extraction goes to a temporary folder (tar's "data" filter: no absolute paths, links
    out of the folder or device files) that is renamed into place when complete, so an
    interrupted unpack is never mistaken for a finished one.
    """
    stem = archive.name
    for suffix in ARCHIVE_SUFFIXES:
        stem = stem.removesuffix(suffix)
    dest = dest_root / f"{stem}-{file_sha256(archive)[:16]}"
    if dest.is_dir():
        return dest
    dest_root.mkdir(parents=True, exist_ok=True)
    tmp = dest_root / f".{dest.name}.tmp{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    try:
        with tarfile.open(archive, "r|*") as tar:
            bar = tqdm(desc=f"unpacking {archive.name}", unit=" files", file=sys.stderr)
            with bar:
                for member in tar:
                    tar.extract(member, tmp, filter="data")
                    bar.update(1)
        os.replace(tmp, dest)
    except (tarfile.TarError, OSError) as err:
        raise BadInput(f"--data-dir {archive}: cannot unpack the archive: {err}") from err
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return dest


def resolve_data_dir(given: str, cache_dir: Path) -> DataSource:
    """Where the data is and in which layout; BadInput with what to do when it is neither."""
    path = Path(given).expanduser()
    expected = (
        "give the cifar10-jpg.tar.gz archive, an unpacked ImageFolder root (train/<class>/*, "
        f"test/<class>/*), or a folder that holds {CIFAR_BATCHES}"
    )
    if not path.exists():
        raise BadInput(f"--data-dir {given}: no such file or folder; {expected}")
    if path.is_file():
        if not path.name.endswith(ARCHIVE_SUFFIXES) or not tarfile.is_tarfile(path):
            raise BadInput(f"--data-dir {given}: not a .tar.gz/.tgz/.tar archive; {expected}")
        folder = unpack_archive(path, cache_dir / "datasets")
        found = _find_layout(folder)
        if found is None:
            raise BadInput(f"--data-dir {given}: the archive holds neither layout; {expected}")
        kind, root = found
        how = "CIFAR-10 python batches" if kind == "cifar10" else "ImageFolder (JPEG files)"
        return DataSource(kind, root, given, f"{how} unpacked from the archive")
    found = _find_layout(path)
    if found is None:
        raise BadInput(
            f"--data-dir {given}: no train/ and test/ folders or {CIFAR_BATCHES}; {expected}"
        )
    kind, root = found
    how = "torchvision CIFAR-10 (python batches)" if kind == "cifar10" else "ImageFolder"
    return DataSource(kind, root, given, how)
