"""PNG renderings for HTTP answers: probe frames and sample-inspection reports."""

from __future__ import annotations

import base64
from typing import Any, Literal

import numpy as np

from ..events import ProbesEvent, SampleReport
from ..ml.overlay import colorize, overlay, to_png
from ..storage.codec import CHOICES, VARIANTS
from ..storage.runs import StoredFrame

View = Literal["overlay", "heatmap", "image"]
UPSCALE = 4  # 32x32 images are unreadable at 1:1


def frame_png(
    probes: ProbesEvent,
    frame: StoredFrame,
    probe: int,
    variant: str,
    view: View,
    box: list[int] | None,
    upscale: int = UPSCALE,
) -> bytes:
    """One probe sample's overlay, bare heatmap or bare image at a frame's step."""
    p, s = len(probes.indices), probes.size
    if not 0 <= probe < min(p, frame.count):
        raise IndexError(f"probe {probe} does not exist; this run has probes 0-{p - 1}")
    v = VARIANTS.index(variant)
    images = np.frombuffer(probes.images, np.uint8).reshape(p, 2, s, s, 3)
    maps = np.frombuffer(frame.maps, np.uint8).reshape(frame.count, 2, frame.size, frame.size)
    image, heat = images[probe, v], maps[probe, v]
    region = None
    if probes.region is not None and box is None and variant == "triggered":
        region = np.frombuffer(probes.region, np.uint8).reshape(p, s, s)[probe]
    return _render(image, heat, view, box, upscale, region)


def _render(
    image: np.ndarray,
    heat: np.ndarray,
    view: View,
    box: list[int] | None,
    upscale: int,
    region: np.ndarray | None = None,
) -> bytes:
    """An image, a bare heatmap, or the overlay with the trigger's box or region outlined."""
    if view == "image":
        rgb = image
    elif view == "heatmap":
        rgb = colorize(heat)
    else:
        return to_png(
            overlay(image, heat, box=tuple(box) if box else None, upscale=upscale, region=region)
        )
    return to_png(rgb.repeat(upscale, axis=0).repeat(upscale, axis=1))


def data_url(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode()


def sample_pngs(
    report: SampleReport, box: list[int] | None
) -> tuple[dict[str, str], dict[str, dict[str, str]]]:
    """(images, overlays) of an inspection report, as PNG data URLs. The triggered image's
    overlays outline its trigger region: the box, or the region's contour without one."""
    s = report.size
    pair = np.frombuffer(report.images, np.uint8).reshape(2, s, s, 3)
    region = None
    if report.region is not None and box is None:
        region = np.frombuffer(report.region, np.uint8).reshape(s, s)
    images: dict[str, str] = {}
    overlays: dict[str, dict[str, str]] = {}
    for v, variant in enumerate(VARIANTS):
        images[variant] = data_url(_render(pair[v], pair[v][..., 0], "image", None, UPSCALE))
        overlays[variant] = {}
        for choice in CHOICES:
            raw = report.maps.get(variant, {}).get(choice)
            if raw is None:
                continue
            heat = np.frombuffer(raw, np.uint8).reshape(s, s)
            outline = region if variant == "triggered" else None
            overlays[variant][choice] = data_url(
                _render(pair[v], heat, "overlay", box, UPSCALE, outline)
            )
    return images, overlays


def sample_summary(report: SampleReport) -> dict[str, Any]:
    probs = {variant: report.probs[v] for v, variant in enumerate(VARIANTS)}
    pred = {variant: int(np.argmax(p)) for variant, p in probs.items()}
    return {"probs": probs, "pred": pred}
