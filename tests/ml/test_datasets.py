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
