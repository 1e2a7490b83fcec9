"""Heatmap overlays as uint8 RGB images, and PNG encoding.

Two styles, the dashboard's (frontend/js/run/heatmaps/draw.js, `cellPixels`): "spots"
(its default view: the image in grey, only the attended regions coloured along a dark red
-> light yellow ramp, weak attention transparent) and "blend" (image and viridis mixed).
`spots` here is a port of draw.js's, pixel for pixel (tests/report/test_clip_colours.py
runs both on the same maps).

The colour map is viridis (perceptually uniform, readable with colour-vision deficiencies,
luminance rising from dark purple to yellow). Its 256 entries are matplotlib's table
(CC0, by Nathaniel J. Smith and Stefan van der Walt) rounded to 8 bits, so nothing here
depends on matplotlib.
"""

from __future__ import annotations

import io
from collections.abc import Sequence

import numpy as np
from PIL import Image

# fmt: off
_VIRIDIS_HEX = (
    "44015444025645045745055946075a46085c460a5d460b5e470d60470e61471063471164471365481467481668481769"
    "48186a481a6c481b6d481c6e481d6f481f70482071482173482374482475482576482677482878482979472a7a472c7a"
    "472d7b472e7c472f7d46307e46327e46337f463480453581453781453882443983443a83443b84433d84433e85423f85"
    "4240864241864142874144874045884046883f47883f48893e49893e4a893e4c8a3d4d8a3d4e8a3c4f8a3c508b3b518b"
    "3b528b3a538b3a548c39558c39568c38588c38598c375a8c375b8d365c8d365d8d355e8d355f8d34608d34618d33628d"
    "33638d32648e32658e31668e31678e31688e30698e306a8e2f6b8e2f6c8e2e6d8e2e6e8e2e6f8e2d708e2d718e2c718e"
    "2c728e2c738e2b748e2b758e2a768e2a778e2a788e29798e297a8e297b8e287c8e287d8e277e8e277f8e27808e26818e"
    "26828e26828e25838e25848e25858e24868e24878e23888e23898e238a8d228b8d228c8d228d8d218e8d218f8d21908d"
    "21918c20928c20928c20938c1f948c1f958b1f968b1f978b1f988b1f998a1f9a8a1e9b8a1e9c891e9d891f9e891f9f88"
    "1fa0881fa1881fa1871fa28720a38620a48621a58521a68522a78522a88423a98324aa8325ab8225ac8226ad8127ad81"
    "28ae8029af7f2ab07f2cb17e2db27d2eb37c2fb47c31b57b32b67a34b67935b77937b87838b9773aba763bbb753dbc74"
    "3fbc7340bd7242be7144bf7046c06f48c16e4ac16d4cc26c4ec36b50c46a52c56954c56856c66758c7655ac8645cc863"
    "5ec96260ca6063cb5f65cb5e67cc5c69cd5b6ccd5a6ece5870cf5773d05675d05477d1537ad1517cd2507fd34e81d34d"
    "84d44b86d54989d5488bd6468ed64590d74393d74195d84098d83e9bd93c9dd93ba0da39a2da37a5db36a8db34aadc32"
    "addc30b0dd2fb2dd2db5de2bb8de29bade28bddf26c0df25c2df23c5e021c8e020cae11fcde11dd0e11cd2e21bd5e21a"
    "d8e219dae319dde318dfe318e2e418e5e419e7e419eae51aece51befe51cf1e51df4e61ef6e620f8e621fbe723fde725"
)
# fmt: on
VIRIDIS: np.ndarray = np.frombuffer(bytes.fromhex(_VIRIDIS_HEX), dtype=np.uint8).reshape(256, 3)
VIRIDIS.setflags(write=False)

Box = Sequence[int]  # (x0, y0, x1, y1) pixels, x1/y1 exclusive

# Hot spots (draw.js HOT, SPOT_FROM): dark red -> orange -> light yellow, rising in luminance.
HOT = np.array([[165, 0, 38], [244, 109, 67], [254, 224, 144], [255, 255, 191]], np.float64)
SPOT_FROM = 0.35  # attention below this share of the map's maximum stays transparent
SPOT_ALPHA = 0.85  # opacity of the strongest spot


def _js_round(x: np.ndarray) -> np.ndarray:
    """JavaScript's Math.round: halves go up (np.round would go to the even neighbour)."""
    return np.floor(x + 0.5)


def hot_color(v: np.ndarray) -> np.ndarray:
    """(..., 3) float RGB of values 0..1 along the hot-spot ramp (draw.js `hotColor`)."""
    x = np.clip(np.asarray(v, np.float64), 0.0, 1.0) * (len(HOT) - 1)
    i = np.minimum(len(HOT) - 2, np.floor(x)).astype(np.int64)
    f = (x - i)[..., None]
    lo, hi = HOT[i], HOT[i + 1]
    return _js_round(lo + f * (hi - lo))


def spot_alpha(v: np.ndarray) -> np.ndarray:
    """Opacity of a hot spot for heat 0..1: 0 up to SPOT_FROM, then rising to SPOT_ALPHA."""
    v = np.asarray(v, np.float64)
    a = np.minimum(1.0, (v - SPOT_FROM) / (1 - SPOT_FROM)) * SPOT_ALPHA
    return np.where(v <= SPOT_FROM, 0.0, a)


def spots(image: np.ndarray, heat: np.ndarray) -> np.ndarray:
    """The dashboard's default view (draw.js `cellPixels`, view "spots"), (H, W, 3) uint8:
    the image in grey dimmed into 30..190, the map's strong values coloured over it."""
    image = np.asarray(image)
    v = to_u8(heat).astype(np.float64) / 255
    lum = 0.299 * image[..., 0] + 0.587 * image[..., 1] + 0.114 * image[..., 2]
    grey = (30 + lum * 0.63)[..., None]
    a = spot_alpha(v)[..., None]
    rgb = (1 - a) * grey + a * hot_color((v - SPOT_FROM) / (1 - SPOT_FROM))
    # a canvas's Uint8ClampedArray rounds halves to even, as np.round does
    out: np.ndarray = np.clip(np.round(rgb), 0, 255).astype(np.uint8)
    return out


def to_u8(heat: np.ndarray) -> np.ndarray:
    """A map (H, W) as uint8: floats in [0, 1] scaled by 255 (clipped, NaN -> 0)."""
    heat = np.asarray(heat)
    if heat.dtype == np.uint8:
        return heat
    if not np.issubdtype(heat.dtype, np.floating):
        raise TypeError(f"a heatmap is uint8 or float in [0, 1], got {heat.dtype}")
    u8: np.ndarray = np.round(np.clip(np.nan_to_num(heat, nan=0.0), 0.0, 1.0) * 255)
    return u8.astype(np.uint8)


def colorize(heat: np.ndarray) -> np.ndarray:
    """A heatmap (H, W), uint8 or float in [0, 1], as viridis colours (H, W, 3) uint8."""
    heat = np.asarray(heat)
    if heat.ndim != 2:
        raise ValueError(f"a heatmap is (H, W), got shape {heat.shape}")
    rgb: np.ndarray = VIRIDIS[to_u8(heat)]
    return rgb


def overlay(
    image: np.ndarray,
    heat: np.ndarray,
    alpha: float = 0.5,
    box: Box | None = None,
    upscale: int = 1,
    outline_color: tuple[int, int, int] | None = None,
    region: np.ndarray | None = None,
    view: str = "blend",
) -> np.ndarray:
    """Blend the coloured heatmap over `image` and outline the trigger `box`.

    image (H, W, 3) uint8; heat (H, W) uint8 or float in [0, 1]; alpha is the heatmap's
    weight; `view` "spots" draws the dashboard's hot spots instead (`spots`; alpha unused).
    `upscale` enlarges the result by an integer factor (nearest neighbour) so that 32x32
    images are visible. The box outline is 1 pixel wide (after upscaling) and lies
    on the pixels just outside the box, so the heat on the trigger stays visible; sides
    that fall outside the image are left out. Its colour is `outline_color`, or by default
    black or white, whichever contrasts more with each pixel underneath. `region` (H, W)
    bool/uint8, for a trigger region that is not a box: its contour (the region's pixels,
    after upscaling, that touch a pixel outside it) is drawn in cyan.
    """
    image = np.asarray(image)
    if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
        raise ValueError(f"image must be (H, W, 3) uint8, got {image.shape} {image.dtype}")
    if np.shape(heat) != image.shape[:2]:
        raise ValueError(f"heatmap shape {np.shape(heat)} differs from image {image.shape[:2]}")
    if not 0.0 <= alpha <= 1.0:
        raise ValueError(f"alpha must lie in [0, 1], got {alpha}")
    if int(upscale) != upscale or upscale < 1:
        raise ValueError(f"upscale must be a positive integer, got {upscale}")
    if view == "spots":
        out = spots(image, heat)
    elif view == "blend":
        blend = (1.0 - alpha) * image + alpha * colorize(heat).astype(np.float64)  # (H, W, 3)
        out = np.round(blend).astype(np.uint8)
    else:
        raise ValueError(f"view must be 'blend' or 'spots', got {view!r}")
    out = out.repeat(upscale, axis=0).repeat(upscale, axis=1)
    if box is not None:
        scaled = (box[0] * upscale, box[1] * upscale, box[2] * upscale, box[3] * upscale)
        _outline(out, scaled, outline_color)
    if region is not None:
        _contour(out, np.asarray(region).astype(bool).repeat(upscale, 0).repeat(upscale, 1))
    return out


CONTOUR = (0, 213, 255)  # the page's region outline colour


def _contour(img: np.ndarray, region: np.ndarray) -> None:
    """Colour, in place, the pixels of `region` (H, W) bool that touch a pixel outside it."""
    if region.shape != img.shape[:2]:
        raise ValueError(f"region shape {region.shape} differs from the image {img.shape[:2]}")
    padded = np.pad(region, 1, constant_values=False)
    inner = (
        padded[:-2, 1:-1] & padded[2:, 1:-1] & padded[1:-1, :-2] & padded[1:-1, 2:]
    )  # all four neighbours inside
    img[region & ~inner] = CONTOUR


def _outline(img: np.ndarray, box: Box, color: tuple[int, int, int] | None) -> None:
    """Draw, in place, the 1-pixel ring just outside `box` on img (H, W, 3)."""
    x0, y0, x1, y1 = box
    if not (x0 < x1 and y0 < y1):
        raise ValueError(f"box must be [x0, y0, x1, y1] with x0 < x1 and y0 < y1, got {box}")
    h, w = img.shape[:2]
    ring = np.zeros((h, w), dtype=bool)
    rows = slice(max(y0 - 1, 0), min(y1 + 1, h))
    cols = slice(max(x0 - 1, 0), min(x1 + 1, w))
    for y in (y0 - 1, y1):  # top and bottom sides
        if 0 <= y < h:
            ring[y, cols] = True
    for x in (x0 - 1, x1):  # left and right sides
        if 0 <= x < w:
            ring[rows, x] = True
    if color is not None:
        img[ring] = color
        return
    luma = img[ring].astype(np.float64) @ np.array([0.299, 0.587, 0.114])
    img[ring] = np.where(luma[:, None] < 128, 255, 0).astype(np.uint8)


def to_png(array: np.ndarray) -> bytes:
    """PNG bytes of an (H, W, 3) RGB or (H, W) grey uint8 array."""
    array = np.asarray(array)
    if array.dtype != np.uint8 or array.ndim not in (2, 3):
        raise ValueError(f"to_png takes (H, W) or (H, W, 3) uint8, got {array.shape} {array.dtype}")
    buf = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(array)).save(buf, format="PNG")
    return buf.getvalue()
