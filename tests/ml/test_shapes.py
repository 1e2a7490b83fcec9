from __future__ import annotations

import torch

from unlearnscope.config import DataConfig
from unlearnscope.ml import shapes
from unlearnscope.ml.datasets import load_splits


def test_same_seed_gives_identical_bytes() -> None:
    a, b = shapes.generate(60, 32, seed=7), shapes.generate(60, 32, seed=7)
    assert torch.equal(a.images, b.images)
    assert torch.equal(a.labels, b.labels)
    assert a.fingerprint() == b.fingerprint()


def test_different_seeds_and_splits_differ() -> None:
    assert not torch.equal(shapes.generate(40, seed=1).images, shapes.generate(40, seed=2).images)
    train, test = shapes.make_splits(40, 40, 32, seed=3)
    assert not torch.equal(train.images, test.images)


def test_classes_are_balanced_and_named() -> None:
    data = shapes.generate(205, 32, seed=0)
    counts = data.counts()
    assert data.classes == shapes.CLASSES and len(set(data.classes)) == 10
    assert counts.sum() == 205 and counts.max() - counts.min() <= 1


def test_images_are_uint8_of_the_asked_size_and_not_constant() -> None:
    data = shapes.generate(30, image_size=24, seed=0)
    assert data.images.shape == (30, 3, 24, 24) and data.images.dtype == torch.uint8
    per_image_std = data.images.float().flatten(1).std(1)
    assert per_image_std.min() > 10  # every image has an object and texture


def test_load_splits_uses_the_configured_sizes() -> None:
    cfg = DataConfig(name="shapes", train_size=50, test_size=20, image_size=16)
    train, test = load_splits(cfg, seed=5)
    assert (len(train), len(test)) == (50, 20)
    assert train.images.shape[-2:] == (16, 16)
    again, _ = load_splits(cfg, seed=5)
    assert torch.equal(train.images, again.images)


def _silhouette_features(images: torch.Tensor) -> torch.Tensor:
    """Colour-, position- and rotation-invariant shape descriptors: radial mass profile
    and angular-harmonic magnitudes of the object's silhouette around its centroid."""
    x = images.float() / 255  # (N, 3, H, W)
    border = torch.cat([x[..., 0, :], x[..., -1, :], x[..., :, 0], x[..., :, -1]], -1)
    s = (x - border.median(-1).values[..., None, None]).norm(dim=1)  # (N, H, W)
    s = s / (s.amax((1, 2), keepdim=True) + 1e-6)
    s = torch.where(s > 0.5, s, torch.zeros_like(s))
    n, h, w = s.shape
    ys, xs = torch.meshgrid(torch.arange(float(h)), torch.arange(float(w)), indexing="ij")
    mass = s.sum((1, 2)) + 1e-6
    dy = ys - ((s * ys).sum((1, 2)) / mass)[:, None, None]
    dx = xs - ((s * xs).sum((1, 2)) / mass)[:, None, None]
    band = ((dx**2 + dy**2).sqrt() / mass.sqrt()[:, None, None] * 2.5).clamp(max=5).long()
    radial = torch.zeros(n, 6).scatter_add_(1, band.flatten(1), s.flatten(1)) / mass[:, None]
    angle = torch.atan2(dy, dx).flatten(1)[..., None] * torch.arange(1.0, 7.0)  # (N, HW, 6)
    sw = s.flatten(1)[..., None]
    harmonics = torch.complex(sw * angle.cos(), sw * angle.sin()).sum(1).abs() / mass[:, None]
    return torch.cat([radial, harmonics, (mass / (h * w))[:, None]], 1)


def test_classes_are_visually_distinct() -> None:
    # A nearest-centroid classifier on simple silhouette descriptors: far above 10% chance
    # means the class is in the object's shape (what a CNN and Grad-CAM should find).
    train, test = shapes.make_splits(500, 300, 32, seed=11)
    f_train, f_test = _silhouette_features(train.images), _silhouette_features(test.images)
    mu, sd = f_train.mean(0), f_train.std(0) + 1e-6
    centroids = torch.stack([f_train[train.labels == k].mean(0) for k in range(10)])
    pred = torch.cdist((f_test - mu) / sd, (centroids - mu) / sd).argmin(1)
    accuracy = (pred == test.labels).float().mean().item()
    assert accuracy > 0.45, accuracy
