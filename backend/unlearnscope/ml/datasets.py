"""Data sets by name: the built-in `shapes`, torchvision's `cifar10`, any `imagefolder`.

`load_splits` returns the train and test splits as in-memory uint8 `ImageSet`s, sub-sampled
(class-balanced, from the seed) to `DataConfig.train_size` / `test_size`.
"""

from __future__ import annotations

import hashlib
import os
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from ..config import DataConfig
from . import shapes
from .imageset import ImageSet

# progress(done, total, message)
Progress = Callable[[int, int, str], None]

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".webp", ".gif", ".tif", ".tiff", ".ppm")
CACHE_VERSION = 1  # bump when the decoded format changes
DECODE_CHUNK = 1000  # images per decoding task (and per progress report)


# torchvision CIFAR10 label order, which is also alphabetical (ImageFolder order)
CIFAR10_CLASSES = (
    "airplane",
    "automobile",
    "bird",
    "cat",
    "deer",
    "dog",
    "frog",
    "horse",
    "ship",
    "truck",
)


class DataUnavailable(RuntimeError):
    """The data set cannot be loaded; the message says how to provide it."""


def load_splits(
    cfg: DataConfig,
    data_dir: str | Path | None = None,
    seed: int = 0,
    cache_dir: Path | None = None,
    progress: Progress | None = None,
) -> tuple[ImageSet, ImageSet]:
    """(train, test) for `cfg`. `data_dir` is the fallback when `cfg.root` is None."""
    root = cfg.root if cfg.root is not None else data_dir
    if cfg.name == "shapes":
        return shapes.make_splits(cfg.train_size, cfg.test_size, cfg.image_size, seed)
    if cfg.name in ("cifar10", "cifar100"):
        train, test = load_cifar10(root, cfg.download, cfg.image_size, cfg.name)
    elif cfg.name == "gtsrb":
        train, test = load_gtsrb(root, cfg.download, cfg.image_size, progress)
    elif cfg.name == "imagefolder":
        train, test = load_imagefolder(root, cfg.image_size, cache_dir, progress)
    elif cfg.name == "arrays":
        train, test = load_arrays(root, cfg.image_size)
    else:
        raise ValueError(f"unknown data set {cfg.name!r}")
    train = train.subset(balanced_subset(train.labels, cfg.train_size, seed))
    test = test.subset(balanced_subset(test.labels, cfg.test_size, seed + 1))
    return train, test


def balanced_subset(labels: torch.Tensor, size: int | None, seed: int) -> torch.Tensor:
    """Sorted indices of a random, class-balanced subset of `size` samples (None: all).

    Classes are taken round-robin in random order, so class counts differ by at most one,
    except where a class runs out of samples and the others fill in.
    """
    n = len(labels)
    if size is None or size >= n:
        return torch.arange(n)
    gen = torch.Generator().manual_seed(seed)
    perm = torch.randperm(n, generator=gen)  # (n,) random order within each class
    by_class = perm[torch.argsort(labels[perm], stable=True)]  # grouped by class, shuffled
    sorted_labels = labels[by_class]
    starts = torch.searchsorted(sorted_labels, sorted_labels, right=False)
    rank = torch.arange(n) - starts  # position of each sample within its class
    # Ties in rank are broken by a random class order, so no class is favoured.
    class_order = torch.randperm(int(labels.max()) + 1, generator=gen)
    key = rank * (len(class_order) + 1) + class_order[sorted_labels]
    chosen = by_class[torch.argsort(key)[:size]]
    return chosen.sort().values


# -- cifar10 -------------------------------------------------------------------------------


CIFAR_FOLDERS = {"cifar10": "cifar-10-batches-py", "cifar100": "cifar-100-python"}


def _cifar_help(root: object, name: str = "cifar10") -> str:
    label = "CIFAR-100" if name == "cifar100" else "CIFAR-10"
    return (
        f"{label} not found under {root!s}. Either pass --data-dir (or data.root) pointing at "
        f"a folder that holds {CIFAR_FOLDERS[name]}, or set data.download=true on a machine "
        "with internet access, or use data.name='imagefolder' with a folder of train/ and "
        "test/ class folders (e.g. unpack cifar10-jpg.tar.gz there)."
    )


def load_cifar10(
    root: str | Path | None, download: bool = False, image_size: int = 32, name: str = "cifar10"
) -> tuple[ImageSet, ImageSet]:
    """torchvision's CIFAR-10 or CIFAR-100 (`name`; python batches), resized to
    `image_size` if needed."""
    from torchvision.datasets import CIFAR10, CIFAR100  # slow import: only when used

    dataset = CIFAR100 if name == "cifar100" else CIFAR10
    if root is None:
        raise DataUnavailable(_cifar_help("<no folder given>", name))
    root = Path(root).expanduser()
    if root.name == CIFAR_FOLDERS[name]:  # the user pointed at the batches folder itself
        root = root.parent
    splits = []
    for train in (True, False):
        try:
            # torchvision checks each batch file's md5 before unpickling it, so only the
            # official files are ever unpickled.
            ds = dataset(str(root), train=train, download=download)
        except (RuntimeError, OSError, ValueError) as e:  # missing, corrupt, or offline
            raise DataUnavailable(f"{_cifar_help(root, name)} ({type(e).__name__}: {e})") from e
        images = torch.from_numpy(np.ascontiguousarray(ds.data)).permute(0, 3, 1, 2)
        labels = torch.as_tensor(ds.targets, dtype=torch.long)
        splits.append(ImageSet(_resize(images.contiguous(), image_size), labels, list(ds.classes)))
    return splits[0], splits[1]


def load_gtsrb(
    root: str | Path | None,
    download: bool = False,
    image_size: int = 32,
    progress: Progress | None = None,
) -> tuple[ImageSet, ImageSet]:
    """The German Traffic Sign Recognition Benchmark in torchvision's layout
    (`<root>/gtsrb/GTSRB/Training/<class>/*.ppm`, `<root>/gtsrb/GTSRB/Final_Test/Images/`
    with `<root>/gtsrb/GT-final_test.csv`): 43 classes, images of many sizes resized to
    `image_size`."""
    from torchvision.datasets import GTSRB  # slow import: only when used

    help_text = (
        f"GTSRB not found under {root!s}: give data.root (or --data-dir) the folder that "
        "holds gtsrb/ in torchvision's layout, or set data.download=true with internet"
    )
    if root is None:
        raise DataUnavailable(help_text)
    splits = []
    for split in ("train", "test"):
        try:
            ds = GTSRB(str(Path(root).expanduser()), split=split, download=download)
        except (RuntimeError, OSError, ValueError) as e:
            raise DataUnavailable(f"{help_text} ({type(e).__name__}: {e})") from e
        samples = list(ds._samples)  # (path, class) pairs, as torchvision lists them
        paths = [Path(p) for p, _ in samples]
        images = decode_all(paths, image_size, progress, f"GTSRB {split}")
        # training classes by their folder's number (torchvision counts the folders
        # present, which shifts the labels when one is missing); test: the CSV's ClassId
        labels = torch.tensor(
            [int(Path(p).parent.name) if split == "train" else int(c) for p, c in samples],
            dtype=torch.long,
        )
        classes = [f"{c:05d}" for c in range(43)]
        splits.append(ImageSet(images, labels, classes))
    return splits[0], splits[1]


def load_arrays(root: str | Path | None, image_size: int = 32) -> tuple[ImageSet, ImageSet]:
    """`train.npz` and `test.npz` in a folder, each with `images` (N, H, W, 3) or
    (N, 3, H, W) uint8 and `labels` (N,) integers, and optionally `classes` (names).
    Read with numpy's `allow_pickle=False`: arrays only, never Python objects."""
    if root is None:
        raise DataUnavailable(
            "data.name='arrays' needs data.root: a folder with train.npz and test.npz"
        )
    folder = Path(root).expanduser()
    splits = []
    for split in ("train", "test"):
        path = folder / f"{split}.npz"
        if not path.is_file():
            raise DataUnavailable(f"{folder} has no {split}.npz (arrays: images, labels)")
        try:
            with np.load(path, allow_pickle=False) as f:
                images, labels = np.asarray(f["images"]), np.asarray(f["labels"])
                names = [str(c) for c in f["classes"]] if "classes" in f.files else None
        except (KeyError, ValueError, OSError) as e:
            raise DataUnavailable(
                f"{path.name}: needs arrays 'images' (N, H, W, 3) uint8 and 'labels' (N,), "
                f"no Python objects ({type(e).__name__}: {e})"
            ) from e
        channels_ok = images.ndim == 4 and 3 in (images.shape[1], images.shape[3])
        if images.dtype != np.uint8 or not channels_ok:
            raise DataUnavailable(
                f"{path.name}: 'images' must be (N, H, W, 3) or (N, 3, H, W) uint8, got "
                f"{images.shape} {images.dtype}"
            )
        if labels.shape != (len(images),) or not np.issubdtype(labels.dtype, np.integer):
            raise DataUnavailable(f"{path.name}: 'labels' must be (N,) integers, one per image")
        t = torch.from_numpy(np.ascontiguousarray(images))
        if t.shape[-1] == 3 and t.shape[1] != 3:
            t = t.permute(0, 3, 1, 2)
        k = int(labels.max()) + 1 if len(labels) else 0
        classes = names if names is not None else [str(c) for c in range(k)]
        splits.append(
            ImageSet(_resize(t.contiguous(), image_size), torch.from_numpy(labels).long(), classes)
        )
    train, test = splits
    if test.classes != train.classes and len(test.classes) <= len(train.classes):
        test = ImageSet(test.images, test.labels, list(train.classes))  # names from train
    return train, test


def _resize(images: torch.Tensor, size: int) -> torch.Tensor:
    """(N, 3, H, W) uint8 resized to (N, 3, size, size), bilinear with antialiasing."""
    if images.shape[-2:] == (size, size):
        return images
    out = [
        F.interpolate(chunk.float(), size=(size, size), mode="bilinear", antialias=True)
        .round_()
        .clamp_(0, 255)
        .to(torch.uint8)
        for chunk in images.split(2048)
    ]
    return torch.cat(out)


# -- imagefolder ---------------------------------------------------------------------------


def _imagefolder_help(root: object, problem: str) -> str:
    return (
        f"{problem}. data.name='imagefolder' needs a folder (data.root or --data-dir, now "
        f"{root!s}) with train/ and test/ sub-folders, each holding one folder of images per "
        "class (train/<class>/*.jpg), e.g. `tar -xzf cifar10-jpg.tar.gz -C DIR`."
    )


def _list_split(split_dir: Path) -> tuple[list[str], list[tuple[Path, int]]]:
    """Class names (sorted) and (file, label) pairs (sorted by class, then file name)."""
    classes = sorted(d.name for d in os.scandir(split_dir) if d.is_dir())
    files = []
    for label, name in enumerate(classes):
        names = sorted(
            e.name
            for e in os.scandir(split_dir / name)
            if e.is_file() and e.name.lower().endswith(IMAGE_EXTENSIONS)
        )
        files += [(split_dir / name / f, label) for f in names]
    return classes, files


def _find_imagefolder(
    root: str | Path | None,
) -> tuple[Path, list[str], dict[str, list[tuple[Path, int]]]]:
    """The root folder, its class names and each split's (file, label) pairs."""
    if root is None:
        raise DataUnavailable(_imagefolder_help(root, "No data folder given"))
    root = Path(root).expanduser()
    if not root.is_dir():
        raise DataUnavailable(_imagefolder_help(root, f"The folder {root} does not exist"))
    for split in ("train", "test"):
        if not (root / split).is_dir():
            raise DataUnavailable(_imagefolder_help(root, f"{root} has no {split}/ folder"))
    listed = {}
    for split in ("train", "test"):
        listed[split] = _list_split(root / split)
        if not listed[split][1]:
            raise DataUnavailable(
                _imagefolder_help(root, f"{root / split} has no class folders with images")
            )
    classes = listed["train"][0]
    if listed["test"][0] != classes:
        raise DataUnavailable(
            _imagefolder_help(
                root,
                f"train/ and test/ have different class folders ({classes} vs {listed['test'][0]})",
            )
        )
    return root, classes, {split: files for split, (_, files) in listed.items()}


def _cache_key(root: Path, image_size: int, files: dict[str, list[tuple[Path, int]]]) -> str:
    """Changes when the folder, any file's name, size or mtime, or the image size changes."""
    h = hashlib.sha256(f"v{CACHE_VERSION}|{root.resolve()}|{image_size}".encode())
    for split, pairs in files.items():
        h.update(f"|{split}:{len(pairs)}".encode())
        for path, label in pairs:
            st = path.stat()
            h.update(f"{path.name}|{label}|{st.st_size}|{st.st_mtime_ns};".encode())
    return h.hexdigest()[:20]


def decode_image(path: Path, size: int) -> np.ndarray:
    """(size, size, 3) uint8 RGB image."""
    with Image.open(path) as img:
        img.draft("RGB", (size, size))  # JPEG: let the decoder downscale large images cheaply
        rgb = img.convert("RGB")
        if rgb.size != (size, size):
            rgb = rgb.resize((size, size), Image.Resampling.BILINEAR)  # antialiased in Pillow
        return np.asarray(rgb)


def decode_all(
    paths: Sequence[Path], size: int, progress: Progress | None, label: str
) -> torch.Tensor:
    """(N, 3, size, size) uint8, decoded by a thread pool (Pillow releases the GIL)."""
    out = np.empty((len(paths), size, size, 3), dtype=np.uint8)

    def work(start: int) -> int:
        stop = min(start + DECODE_CHUNK, len(paths))
        for i in range(start, stop):
            try:
                out[i] = decode_image(paths[i], size)
            except OSError as e:
                raise DataUnavailable(f"cannot read image {paths[i]}: {e}") from e
        return stop - start

    workers = min(8, os.cpu_count() or 1)
    done = 0
    with ThreadPoolExecutor(workers) as pool:
        for count in pool.map(work, range(0, len(paths), DECODE_CHUNK)):
            done += count
            if progress is not None:
                progress(done, len(paths), f"decoding {label} images")
    return torch.from_numpy(out).permute(0, 3, 1, 2).contiguous()


def load_imagefolder(
    root: str | Path | None,
    image_size: int = 32,
    cache_dir: Path | None = None,
    progress: Progress | None = None,
) -> tuple[ImageSet, ImageSet]:
    """train/ and test/ class folders, decoded once and cached as uint8 tensors."""
    folder, classes, files = _find_imagefolder(root)
    cache = None
    if cache_dir is not None:
        cache = Path(cache_dir) / f"imagefolder-{_cache_key(folder, image_size, files)}.pt"
        if cache.exists():
            try:
                return _read_cache(cache)
            except Exception:  # a truncated or foreign file: decode again and overwrite
                cache.unlink(missing_ok=True)
    t0 = time.perf_counter()
    sets = []
    for split in ("train", "test"):
        paths = [p for p, _ in files[split]]
        labels = torch.tensor([lab for _, lab in files[split]], dtype=torch.long)
        sets.append(ImageSet(decode_all(paths, image_size, progress, split), labels, classes))
    if progress is not None:
        total = len(files["train"]) + len(files["test"])
        progress(total, total, f"decoded {total} images in {time.perf_counter() - t0:.1f} s")
    if cache is not None:
        _write_cache(cache, sets[0], sets[1])
    return sets[0], sets[1]


def _write_cache(path: Path, train: ImageSet, test: ImageSet) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".tmp{os.getpid()}")
    blob = {
        "classes": train.classes,
        "train_images": train.images,
        "train_labels": train.labels,
        "test_images": test.images,
        "test_labels": test.labels,
    }
    torch.save(blob, tmp)
    os.replace(tmp, path)  # atomic: a reader never sees a half-written cache


def _read_cache(path: Path) -> tuple[ImageSet, ImageSet]:
    blob = torch.load(path, weights_only=True)  # plain tensors and strings only
    classes = list(blob["classes"])
    return (
        ImageSet(blob["train_images"], blob["train_labels"], classes),
        ImageSet(blob["test_images"], blob["test_labels"], list(classes)),
    )
