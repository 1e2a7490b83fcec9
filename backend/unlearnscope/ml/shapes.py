"""`shapes`: the built-in synthetic data set (no download, deterministic from a seed).

Ten classes of simple shapes, each with a random colour, size, position and rotation, drawn
on a noisy textured background (a colour gradient plus low-frequency blotches plus pixel
noise). A small CNN learns it to high accuracy within a minute on a CPU, and each image has
one object for Grad-CAM to look at.

Rasterisation is vectorised: every class is an inside/outside test on a grid of object
coordinates (implicit curves, or a point-in-polygon test), evaluated at 2x supersampling and
box-filtered down, so the edges are anti-aliased.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import torch

from .imageset import ImageSet

CLASSES = [
    "circle",
    "square",
    "triangle",
    "star",
    "plus",
    "ring",
    "crescent",
    "heart",
    "ellipse",
    "arrow",
]
DEFAULT_TRAIN_SIZE = 10_000
DEFAULT_TEST_SIZE = 2_000
SUPERSAMPLE = 2  # rasterise at 2x, then average 2x2 blocks: anti-aliased edges
CHUNK_PIXELS = 512 * 32 * 32  # output pixels rasterised at once: bounds the grids' memory

# Geometry in object units: the object fits in the unit disc; its pixel radius is random.
Inside = Callable[[np.ndarray, np.ndarray], np.ndarray]  # (u, v) -> bool, same shape


def _polygon(vertices: list[tuple[float, float]]) -> Inside:
    """Even-odd point-in-polygon test (crossing number), vectorised over points."""
    vx = np.array([p[0] for p in vertices], dtype=np.float32)
    vy = np.array([p[1] for p in vertices], dtype=np.float32)

    def inside(u: np.ndarray, v: np.ndarray) -> np.ndarray:
        result = np.zeros(u.shape, dtype=bool)
        for k in range(len(vx)):
            x0, y0, x1, y1 = vx[k - 1], vy[k - 1], vx[k], vy[k]
            if y0 == y1:
                continue  # a horizontal edge is never crossed by a horizontal ray
            crosses = (y0 > v) != (y1 > v)
            x_at = x0 + (v - y0) * (x1 - x0) / (y1 - y0)
            result ^= crosses & (u < x_at)
        return result

    return inside


def _regular(n: int, radius: float, phase: float = math.pi / 2) -> list[tuple[float, float]]:
    return [
        (
            radius * math.cos(phase + 2 * math.pi * k / n),
            radius * math.sin(phase + 2 * math.pi * k / n),
        )
        for k in range(n)
    ]


def _star(points: int, outer: float, inner: float) -> list[tuple[float, float]]:
    outer_v = _regular(points, outer)
    inner_v = _regular(points, inner, math.pi / 2 + math.pi / points)
    return [p for pair in zip(outer_v, inner_v, strict=True) for p in pair]


def _mask(inside: object) -> np.ndarray:
    """A shape test's result as a bool array (a no-op; it types numpy's comparisons)."""
    return np.asarray(inside, dtype=bool)


def _circle(u: np.ndarray, v: np.ndarray) -> np.ndarray:
    return _mask(u * u + v * v <= 0.85**2)


def _ring(u: np.ndarray, v: np.ndarray) -> np.ndarray:
    r2 = u * u + v * v
    return _mask((r2 <= 0.95**2) & (r2 >= 0.55**2))


def _crescent(u: np.ndarray, v: np.ndarray) -> np.ndarray:
    return _mask((u * u + v * v <= 0.95**2) & ((u - 0.45) ** 2 + v * v > 0.75**2))


def _heart(u: np.ndarray, v: np.ndarray) -> np.ndarray:
    # The classic heart curve (x^2 + y^2 - 1)^3 - x^2 y^3 <= 0, centred and scaled to the disc.
    x, y = u * 1.25, v * 1.25 + 0.15
    x2, q = x * x, x * x + y * y - 1
    return _mask(q * q * q - x2 * y * y * y <= 0)  # products: much faster than ** on arrays


def _ellipse(u: np.ndarray, v: np.ndarray) -> np.ndarray:
    return _mask((u / 0.95) ** 2 + (v / 0.42) ** 2 <= 1)


def _plus(u: np.ndarray, v: np.ndarray) -> np.ndarray:
    au, av = np.abs(u), np.abs(v)
    return _mask(((au <= 0.28) & (av <= 0.9)) | ((av <= 0.28) & (au <= 0.9)))


def _square(u: np.ndarray, v: np.ndarray) -> np.ndarray:
    return _mask(np.maximum(np.abs(u), np.abs(v)) <= 0.7)


SHAPES: dict[str, Inside] = {
    "circle": _circle,
    "square": _square,
    "triangle": _polygon(_regular(3, 1.0)),
    "star": _polygon(_star(5, 1.0, 0.42)),
    "plus": _plus,
    "ring": _ring,
    "crescent": _crescent,
    "heart": _heart,
    "ellipse": _ellipse,
    "arrow": _polygon(
        [
            (-0.95, -0.2),
            (0.15, -0.2),
            (0.15, -0.6),
            (0.95, 0.0),
            (0.15, 0.6),
            (0.15, 0.2),
            (-0.95, 0.2),
        ]
    ),
}


def _smooth_noise(rng: np.random.Generator, n: int, size: int, cells: int = 4) -> np.ndarray:
    """(n, 3, size, size) low-frequency noise: a random cells x cells grid, bilinearly upsampled."""
    grid = rng.standard_normal((n, 3, cells, cells), dtype=np.float32)
    pos = np.linspace(0, cells - 1, size, dtype=np.float32)
    lo = np.minimum(pos.astype(np.int64), cells - 2)
    frac = pos - lo
    up = np.zeros((size, cells), dtype=np.float32)  # (size, cells) interpolation matrix
    up[np.arange(size), lo] = 1 - frac
    up[np.arange(size), lo + 1] = frac
    smooth: np.ndarray = np.einsum("ic,nkcd,jd->nkij", up, grid, up, optimize=True)
    return smooth


def _backgrounds(rng: np.random.Generator, n: int, size: int) -> np.ndarray:
    """(n, 3, size, size) float32 textured backgrounds in about [0, 1]."""
    c0 = rng.uniform(0, 1, (n, 3, 1, 1)).astype(np.float32)
    c1 = rng.uniform(0, 1, (n, 3, 1, 1)).astype(np.float32)
    angle = rng.uniform(0, 2 * math.pi, (n, 1, 1, 1)).astype(np.float32)
    coords = np.linspace(-0.5, 0.5, size, dtype=np.float32)
    t = np.cos(angle) * coords[None, None, None, :] + np.sin(angle) * coords[None, None, :, None]
    bg = c0 + (c1 - c0) * (t + 0.5)  # a linear colour gradient in a random direction
    bg += 0.08 * _smooth_noise(rng, n, size)
    return bg


def _object_colours(rng: np.random.Generator, background: np.ndarray) -> np.ndarray:
    """(n, 3, 1, 1) object colours that keep a clear distance from the background's mean."""
    n = background.shape[0]
    fg = rng.uniform(0, 1, (n, 3, 1, 1)).astype(np.float32)
    mean = background.mean(axis=(2, 3), keepdims=True)
    too_close = np.linalg.norm(fg - mean, axis=1, keepdims=True) < 0.45
    opposite = np.clip(1 - mean + rng.normal(0, 0.1, mean.shape).astype(np.float32), 0, 1)
    opposite = np.where(np.abs(opposite - mean) < 0.3, np.round(1 - mean), opposite)
    return np.where(too_close, opposite, fg)


def _coverage(rng: np.random.Generator, labels: np.ndarray, size: int) -> np.ndarray:
    """(n, size, size) float32 share of each pixel that the object covers, anti-aliased."""
    n, fine = len(labels), size * SUPERSAMPLE
    radius = rng.uniform(0.24, 0.40, n).astype(np.float32) * size  # pixels
    centre = size / 2 + rng.uniform(-0.14, 0.14, (n, 2)).astype(np.float32) * size
    angle = rng.uniform(0, 2 * math.pi, n).astype(np.float32)
    # Pixel centres of the fine grid, in output pixel units.
    grid = (np.arange(fine, dtype=np.float32) + 0.5) / SUPERSAMPLE
    dx = (grid[None, None, :] - centre[:, 0, None, None]) / radius[:, None, None]  # (n, 1, fine)
    dy = (grid[None, :, None] - centre[:, 1, None, None]) / radius[:, None, None]  # (n, fine, 1)
    cos, sin = np.cos(angle)[:, None, None], np.sin(angle)[:, None, None]
    u = cos * dx + sin * dy  # (n, fine, fine): rotate the grid into object coordinates
    v = -sin * dx + cos * dy
    inside = np.zeros((n, fine, fine), dtype=bool)
    for k, name in enumerate(CLASSES):
        sel = labels == k
        if sel.any():
            inside[sel] = SHAPES[name](u[sel], v[sel])
    # box filter: how many of the SUPERSAMPLE^2 samples of a pixel are inside
    hits = np.zeros(inside[:, ::SUPERSAMPLE, ::SUPERSAMPLE].shape, dtype=np.float32)
    for i in range(SUPERSAMPLE):
        for j in range(SUPERSAMPLE):
            hits += inside[:, i::SUPERSAMPLE, j::SUPERSAMPLE]
    return hits / SUPERSAMPLE**2


def _render(rng: np.random.Generator, labels: np.ndarray, size: int) -> np.ndarray:
    """(n, 3, size, size) uint8 images of the given classes."""
    n = len(labels)
    bg = _backgrounds(rng, n, size)
    fg = _object_colours(rng, bg)
    alpha = _coverage(rng, labels, size)[:, None]  # (n, 1, size, size)
    img = bg * (1 - alpha) + fg * alpha
    img += 0.035 * rng.standard_normal(img.shape, dtype=np.float32)  # sensor-like pixel noise
    u8: np.ndarray = np.clip(np.rint(img * 255), 0, 255)
    return u8.astype(np.uint8)


def generate(n: int, image_size: int = 32, seed: int = 0) -> ImageSet:
    """`n` shape images (class-balanced, shuffled), identical bytes for identical arguments."""
    if n < 1:
        raise ValueError(f"shapes: need at least one image, got n={n}")
    seed %= 2**64  # numpy seeds are non-negative
    rng = np.random.default_rng(seed)
    labels = rng.permutation(np.arange(n) % len(CLASSES))  # balanced: counts differ by <= 1
    images = np.empty((n, 3, image_size, image_size), dtype=np.uint8)
    step = max(1, CHUNK_PIXELS // image_size**2)
    for start in range(0, n, step):
        chunk = labels[start : start + step]
        chunk_rng = np.random.default_rng([seed, start])  # chunks are independent streams
        images[start : start + len(chunk)] = _render(chunk_rng, chunk, image_size)
    return ImageSet(torch.from_numpy(images), torch.from_numpy(labels).long(), list(CLASSES))


def make_splits(
    train_size: int | None, test_size: int | None, image_size: int = 32, seed: int = 0
) -> tuple[ImageSet, ImageSet]:
    """Train and test sets from different streams derived from one seed."""
    train_seed, test_seed = np.random.SeedSequence(seed % 2**64).generate_state(2)
    train = generate(train_size or DEFAULT_TRAIN_SIZE, image_size, int(train_seed))
    test = generate(test_size or DEFAULT_TEST_SIZE, image_size, int(test_seed))
    return train, test
