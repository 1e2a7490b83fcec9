"""Heatmap colouring, blending, the trigger outline and PNG encoding."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from unlearnscope.ml.overlay import VIRIDIS, colorize, overlay, to_png


def _relative_luminance(rgb: np.ndarray) -> np.ndarray:
    c = rgb.astype(np.float64) / 255
    lin = np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)
    return lin @ np.array([0.2126, 0.7152, 0.0722])


def test_colour_map_luminance_rises_from_dark_to_light() -> None:
    assert VIRIDIS.shape == (256, 3) and VIRIDIS.dtype == np.uint8
    lum = _relative_luminance(VIRIDIS)
    # 8-bit rounding leaves a few flat or 0.03%-lower steps between neighbours.
    assert np.all(np.diff(lum) > -1e-3)
    assert np.all(np.diff(lum[::8]) > 0)
    assert lum[0] < 0.02 and lum[-1] > 0.7
    assert tuple(VIRIDIS[0]) == (68, 1, 84) and tuple(VIRIDIS[-1]) == (253, 231, 37)


def test_colorize_takes_uint8_or_float_maps() -> None:
    heat = np.array([[0.0, 0.5], [1.0, np.nan]])
    rgb = colorize(heat)
    assert rgb.shape == (2, 2, 3) and rgb.dtype == np.uint8
    assert np.array_equal(rgb, VIRIDIS[[[0, 128], [255, 0]]])
    assert np.array_equal(colorize(np.array([[0, 128], [255, 0]], dtype=np.uint8)), rgb)
    assert np.array_equal(colorize(np.array([[-1.0, 2.0]])), VIRIDIS[[[0, 255]]])  # clipped
    with pytest.raises(ValueError):
        colorize(np.zeros((2, 2, 1)))


def test_overlay_blends_with_alpha() -> None:
    image = np.full((4, 4, 3), 200, dtype=np.uint8)
    heat = np.ones((4, 4), dtype=np.float32)
    out = overlay(image, heat, alpha=0.25)
    assert out.shape == (4, 4, 3) and out.dtype == np.uint8
    expected = np.round(0.75 * 200 + 0.25 * VIRIDIS[255].astype(float)).astype(np.uint8)
    assert np.array_equal(out[1, 2], expected)
    assert np.array_equal(overlay(image, heat, alpha=0.0), image)
    assert np.array_equal(overlay(image, heat, alpha=1.0), colorize(heat))


def test_box_outline_lies_just_outside_the_box() -> None:
    image = np.zeros((8, 8, 3), dtype=np.uint8)
    heat = np.zeros((8, 8), dtype=np.float32)
    out = overlay(image, heat, alpha=0.0, box=(2, 3, 5, 5), outline_color=(255, 0, 255))
    ring = np.zeros((8, 8), dtype=bool)
    ring[2, 1:6] = ring[5, 1:6] = ring[2:6, 1] = ring[2:6, 5] = True
    drawn = np.all(out == (255, 0, 255), axis=2)
    assert np.array_equal(drawn, ring)
    assert not out[3:5, 2:5].any()  # the box itself keeps its pixels


def test_outline_contrasts_and_is_clipped_at_the_image_border() -> None:
    image = np.zeros((8, 8, 3), dtype=np.uint8)
    image[:, :4] = 255  # left half white, right half black
    heat = np.zeros((8, 8), dtype=np.uint8)
    out = overlay(image, heat, alpha=0.0, box=(5, 5, 8, 8))  # bottom-right corner trigger
    assert np.array_equal(out[4, 4:8], np.full((4, 3), 255))  # white on black
    assert np.array_equal(out[4:8, 4], np.full((4, 3), 255))
    out = overlay(image, heat, alpha=0.0, box=(0, 0, 3, 3))  # top-left, on white
    assert np.array_equal(out[3, 0:4], np.zeros((4, 3)))  # black on white
    assert np.array_equal(out[0:4, 3], np.zeros((4, 3)))
    changed = np.any(out != image, axis=2)
    assert changed.sum() == 7  # only the bottom and right sides: the rest is off-image


def test_upscale_is_nearest_and_outline_stays_one_pixel() -> None:
    rng = np.random.default_rng(0)
    image = rng.integers(0, 256, (4, 4, 3), dtype=np.uint8)
    heat = rng.random((4, 4))
    small = overlay(image, heat)
    big = overlay(image, heat, upscale=3)
    assert big.shape == (12, 12, 3)
    assert np.array_equal(big[::3, ::3], small) and np.array_equal(big[2::3, 1::3], small)
    boxed = overlay(image, heat, upscale=3, box=(1, 1, 2, 2), outline_color=(1, 2, 3))
    drawn = np.all(boxed == (1, 2, 3), axis=2)
    assert drawn.sum() == 4 * 4  # ring around the 3x3 upscaled pixel: 5x5 minus 3x3
    assert drawn[2, 2:7].all() and not drawn[3:6, 3:6].any()


def test_overlay_rejects_mismatched_inputs() -> None:
    image = np.zeros((4, 4, 3), dtype=np.uint8)
    with pytest.raises(ValueError, match="differs"):
        overlay(image, np.zeros((4, 5)))
    with pytest.raises(ValueError, match="uint8"):
        overlay(image.astype(np.float32), np.zeros((4, 4)))
    with pytest.raises(ValueError, match="x0 < x1"):
        overlay(image, np.zeros((4, 4)), box=(2, 2, 2, 3))


def test_to_png_round_trips() -> None:
    rgb = np.random.default_rng(1).integers(0, 256, (5, 7, 3), dtype=np.uint8)
    data = to_png(rgb)
    assert data.startswith(b"\x89PNG")
    back = np.asarray(Image.open(io.BytesIO(data)))
    assert np.array_equal(back, rgb)
    grey = np.arange(12, dtype=np.uint8).reshape(3, 4)
    assert np.array_equal(np.asarray(Image.open(io.BytesIO(to_png(grey)))), grey)


def test_a_region_is_outlined_along_its_contour() -> None:
    from unlearnscope.ml.overlay import CONTOUR

    region = np.zeros((4, 4), bool)
    region[1:3, 1:3] = True  # a 2x2 square: upscaled x3 -> 6x6, its 20 border pixels
    out = overlay(np.zeros((4, 4, 3), np.uint8), np.zeros((4, 4)), upscale=3, region=region)
    cyan = (out == np.array(CONTOUR, np.uint8)).all(-1)
    assert cyan.sum() == 20 and cyan[3:9, 3:9].sum() == 20 and not cyan[5:7, 5:7].any()
