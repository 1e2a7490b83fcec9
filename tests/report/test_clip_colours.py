"""The clip draws heatmaps as the dashboard does: ml/overlay.spots gives, pixel for pixel,
what the page's draw.js `cellPixels` (view "spots") gives for the same image and map, run
under Node; and the clip's tiles are that style (the viridis blend is not in them)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import numpy as np
from PIL import Image
from report_runs import COMPLETED

from node_tool import node_or_skip
from unlearnscope.ml.overlay import overlay, spots
from unlearnscope.report.clip import ClipPainter, _grid
from unlearnscope.report.data import frame_maps

DRAW_JS = Path(__file__).resolve().parents[2] / "frontend/js/run/heatmaps/draw.js"


def page_spots(image: np.ndarray, heat: np.ndarray) -> np.ndarray:
    """draw.js cellPixels(view "spots") of an (S, S, 3) image and (S, S) uint8 map, RGB."""
    size = image.shape[0]
    script = f"""
import {{ cellPixels }} from {json.dumps(DRAW_JS.as_uri())};
import {{ readFileSync }} from "node:fs";
const {{ image, heat, size }} = JSON.parse(readFileSync(0, "utf8"));
const px = cellPixels({{
  image: Uint8Array.from(image), heat: Uint8Array.from(heat), size, view: "spots",
}});
process.stdout.write(JSON.stringify(Array.from(px)));
"""
    data = {"image": image.ravel().tolist(), "heat": heat.ravel().tolist(), "size": size}
    out = subprocess.run(
        [
            node_or_skip("the page's colours are computed by it"),
            "--input-type=module",
            "-e",
            script,
        ],
        input=json.dumps(data),
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    rgba = np.array(json.loads(out.stdout), np.uint8).reshape(size, size, 4)
    assert (rgba[..., 3] == 255).all()
    return rgba[..., :3]


def test_the_python_spots_are_the_pages_pixel_for_pixel() -> None:
    rng = np.random.default_rng(7)
    size = 32
    image = rng.integers(0, 256, (size, size, 3), dtype=np.uint8)
    heat = np.arange(size * size, dtype=np.int64).reshape(size, size) % 256  # every value
    heat = heat.astype(np.uint8)
    page = page_spots(image, heat)
    ours = spots(image, heat)
    assert ours.shape == page.shape and ours.dtype == np.uint8
    diff = np.argwhere(ours != page)
    assert diff.size == 0, f"{len(diff)} channels differ, first at {diff[0]}"
    # the test sees colour: weak attention is grey, strong attention is not
    weak, strong = ours[heat < 80], ours[heat > 240]
    assert (weak[:, 0] == weak[:, 1]).all() and (weak[:, 1] == weak[:, 2]).all()
    assert (strong[:, 0].astype(int) - strong[:, 2] > 40).all()


def _find(frame: np.ndarray, tile: np.ndarray) -> bool:
    """Whether `tile` (h, w, 3) occurs in `frame` (H, W, 3), exactly."""
    th, tw = tile.shape[:2]
    ys, xs = np.nonzero((frame == tile[0, 0]).all(axis=2))
    for y, x in zip(ys, xs, strict=True):
        if y + th <= frame.shape[0] and x + tw <= frame.shape[1]:
            if np.array_equal(frame[y : y + th, x : x + tw], tile):
                return True
    return False


def test_the_clips_tiles_are_the_dashboards_hot_spots(facts) -> None:
    f = facts[COMPLETED]
    painter = ClipPainter(f, [0, 1], 1280, 720)
    index = len(f.frames) - 1
    frame = np.asarray(painter.frame(index).convert("RGB"))
    maps = frame_maps(f.frames[index])
    images = f.probe_images()
    assert images is not None
    box = f.started.trigger_box if f.started else None
    top = painter.head + round(12 * painter.h / 720)
    side = _grid(2, painter.w, painter.h - top, painter.caption)[2] - 2  # the clip's tile side
    found = {}
    for view in ("spots", "blend"):
        hits = 0
        for p in (0, 1):
            for v in (0, 1):
                rgb = overlay(images[p, v], maps[p, v], box=box, view=view)
                tile = Image.fromarray(rgb).resize((side, side), Image.Resampling.NEAREST)
                # below the "clean" / "trigger" label the clip paints on each tile's corner
                hits += _find(frame, np.asarray(tile)[side // 4 :])
        found[view] = hits
    assert found == {"spots": 4, "blend": 0}, found
