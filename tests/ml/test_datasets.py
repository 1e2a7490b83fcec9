from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from unlearnscope.config import DataConfig
from unlearnscope.ml.datasets import (
    CIFAR10_CLASSES,
    DataUnavailable,
    balanced_subset,
    load_splits,
)
from unlearnscope.ml.imageset import ImageSet

CIFAR_CLASSES = list(CIFAR10_CLASSES)


def _imagefolder(root: Path, **kw: object) -> DataConfig:
    base = {"name": "imagefolder", "root": str(root), "train_size": None, "test_size": None}
    return DataConfig.model_validate({**base, **kw})


def test_imagefolder_loads_real_cifar_slice(cifar_slice_dir: Path) -> None:
    calls: list[tuple[int, int, str]] = []
    train, test = load_splits(
        _imagefolder(cifar_slice_dir), progress=lambda d, t, m: calls.append((d, t, m))
    )
    assert train.classes == CIFAR_CLASSES and test.classes == CIFAR_CLASSES
    assert (len(train), len(test)) == (200, 100)
    assert train.counts().tolist() == [20] * 10 and test.counts().tolist() == [10] * 10
    assert train.images.shape == (200, 3, 32, 32) and train.images.dtype == torch.uint8
    # Labels follow the folders: the first image of each class folder has that label.
    first_truck = sorted((cifar_slice_dir / "train" / "truck").iterdir())[0]
    with Image.open(first_truck) as img:
        pixels = torch.from_numpy(np.array(img.convert("RGB"))).permute(2, 0, 1)
    assert torch.equal(train.images[180], pixels)
    assert 0.3 < train.images.float().mean() / 255 < 0.65  # real photos, not blank
    assert calls and calls[-1][0] == calls[-1][1] == 300


def test_imagefolder_resizes_and_subsamples(cifar_slice_dir: Path) -> None:
    cfg = _imagefolder(cifar_slice_dir, image_size=16).model_copy(
        update={"train_size": 50, "test_size": 30}
    )
    train, test = load_splits(cfg, seed=1)
    assert train.images.shape == (50, 3, 16, 16) and test.images.shape == (30, 3, 16, 16)
    assert train.counts().tolist() == [5] * 10 and test.counts().tolist() == [3] * 10
    again, _ = load_splits(cfg, seed=1)
    other, _ = load_splits(cfg, seed=2)
    assert torch.equal(train.images, again.images)
    assert not torch.equal(train.images, other.images)


def test_imagefolder_cache_hit_on_second_call(cifar_slice_dir: Path, tmp_path: Path) -> None:
    cfg = _imagefolder(cifar_slice_dir)
    first, _ = load_splits(cfg, cache_dir=tmp_path)
    cached = list(tmp_path.glob("*.pt"))
    assert len(cached) == 1
    calls: list[tuple[int, int, str]] = []
    second, _ = load_splits(cfg, cache_dir=tmp_path, progress=lambda *a: calls.append(a))
    assert calls == []  # nothing decoded
    assert first.fingerprint() == second.fingerprint()
    load_splits(_imagefolder(cifar_slice_dir, image_size=24), cache_dir=tmp_path)
    assert len(list(tmp_path.glob("*.pt"))) == 2  # another size is another cache entry


def test_imagefolder_without_splits_says_what_is_expected(tmp_path: Path) -> None:
    (tmp_path / "train" / "cat").mkdir(parents=True)
    with pytest.raises(DataUnavailable, match=r"no test/ folder.*train/ and test/"):
        load_splits(_imagefolder(tmp_path))
    with pytest.raises(DataUnavailable, match="does not exist"):
        load_splits(_imagefolder(tmp_path / "missing"))
    (tmp_path / "test").mkdir()
    with pytest.raises(DataUnavailable, match="has no class folders with images"):
        load_splits(_imagefolder(tmp_path))


def test_cifar10_missing_without_download_explains_the_options(tmp_path: Path) -> None:
    cfg = DataConfig(name="cifar10", download=False)
    with pytest.raises(DataUnavailable) as err:
        load_splits(cfg, data_dir=tmp_path)
    message = str(err.value)
    assert "--data-dir" in message and "cifar-10-batches-py" in message
    assert "data.download=true" in message and "imagefolder" in message


def test_balanced_subset_is_balanced_sorted_and_seeded() -> None:
    labels = torch.arange(1000) % 10
    labels[labels == 9] = 0  # an imbalanced set: class 0 twice as big, class 9 empty
    idx = balanced_subset(labels, 95, seed=0)
    counts = torch.bincount(labels[idx], minlength=10)[:9]
    assert len(idx) == 95 and counts.max() - counts.min() <= 1
    assert torch.equal(idx, idx.sort().values) and len(idx.unique()) == 95
    assert torch.equal(idx, balanced_subset(labels, 95, seed=0))
    assert not torch.equal(idx, balanced_subset(labels, 95, seed=1))
    assert torch.equal(balanced_subset(labels, None, seed=0), torch.arange(1000))


def test_imageset_batch_subset_and_fingerprint() -> None:
    images = torch.randint(0, 256, (6, 3, 4, 4), dtype=torch.uint8)
    data = ImageSet(images, torch.tensor([0, 1, 2, 0, 1, 2]), ["a", "b", "c"])
    x, y = data.batch([5, 0])
    assert x.dtype == torch.float32 and torch.equal(x, images[[5, 0]].float() / 255)
    assert y.tolist() == [2, 0]
    sub = data.subset(torch.tensor([1, 3]))
    assert len(sub) == 2 and sub.labels.tolist() == [1, 0] and sub.classes == data.classes
    fp = data.fingerprint()
    assert fp == ImageSet(images.clone(), data.labels.clone(), ["a", "b", "c"]).fingerprint()
    relabelled = data.subset(range(6))
    relabelled.labels[0] = 1
    assert relabelled.fingerprint() != fp and data.labels[0] == 0  # subsets are copies
    with pytest.raises(ValueError, match="uint8"):
        ImageSet(images.float(), data.labels, data.classes)


def test_arrays_folder_reads_npz_without_pickles(tmp_path: Path) -> None:
    """data.name='arrays': train.npz / test.npz with images (HWC or CHW) and labels; an
    archive holding Python objects is refused, never unpickled."""
    import numpy as np

    from unlearnscope.config import DataConfig
    from unlearnscope.ml.datasets import DataUnavailable, load_splits

    rng = np.random.default_rng(0)
    hwc = rng.integers(0, 256, (12, 32, 32, 3), dtype=np.uint8)
    chw = rng.integers(0, 256, (6, 3, 32, 32), dtype=np.uint8)
    np.savez(tmp_path / "train.npz", images=hwc, labels=np.arange(12) % 3,
             classes=np.array(["cat", "dog", "eel"]))
    np.savez(tmp_path / "test.npz", images=chw, labels=np.arange(6) % 3)
    cfg = DataConfig(name="arrays", root=str(tmp_path), train_size=None, test_size=None)
    train, test = load_splits(cfg)
    assert train.classes == test.classes == ["cat", "dog", "eel"]
    assert sorted(train.images.flatten().tolist()) == sorted(hwc.flatten().tolist())
    assert test.images.shape == (6, 3, 32, 32)
    np.savez(tmp_path / "test.npz", images=np.array([object()] * 6), labels=np.arange(6))
    with pytest.raises(DataUnavailable, match="no Python objects"):
        load_splits(cfg)


def test_gtsrb_in_torchvisions_layout(tmp_path: Path) -> None:
    """data.name='gtsrb': Training/<class>/*.ppm and Final_Test/Images with the ground-truth
    CSV, images of any size resized; 43 classes."""
    from PIL import Image

    from unlearnscope.config import DataConfig
    from unlearnscope.ml.datasets import load_splits

    base = tmp_path / "gtsrb"
    for c in (0, 5, 42):
        folder = base / "GTSRB" / "Training" / f"{c:05d}"
        folder.mkdir(parents=True)
        for i in range(2):
            Image.new("RGB", (40 + i, 37), (c * 6, 10, 200)).save(folder / f"{i:05d}.ppm")
    test = base / "GTSRB" / "Final_Test" / "Images"
    test.mkdir(parents=True)
    rows = ["Filename;Width;Height;Roi.X1;Roi.Y1;Roi.X2;Roi.Y2;ClassId"]
    for i, c in enumerate((42, 5, 0)):
        Image.new("RGB", (50, 45), (c * 6, 10, 200)).save(test / f"{i:05d}.ppm")
        rows.append(f"{i:05d}.ppm;50;45;5;5;45;40;{c}")
    (base / "GT-final_test.csv").write_text("\n".join(rows) + "\n")
    cfg = DataConfig(name="gtsrb", root=str(tmp_path), train_size=None, test_size=None)
    train, test_set = load_splits(cfg)
    assert len(train.classes) == 43 and train.classes[42] == "00042"
    assert sorted(train.labels.tolist()) == [0, 0, 5, 5, 42, 42]
    assert sorted(test_set.labels.tolist()) == [0, 5, 42]
    assert train.images.shape[1:] == (3, 32, 32)


def test_cifar100_missing_says_where_to_put_it(tmp_path: Path) -> None:
    from unlearnscope.config import DataConfig
    from unlearnscope.ml.datasets import DataUnavailable, load_splits

    with pytest.raises(DataUnavailable, match=r"CIFAR-100 not found.*cifar-100-python"):
        load_splits(DataConfig(name="cifar100", root=str(tmp_path)))
