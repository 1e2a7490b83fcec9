"""An animated clip of a run's heatmaps for slides: GIF or WebP, written by Pillow.

Each frame shows the chosen probes (clean and triggered Grad-CAM maps drawn as the
dashboard's hot spots, ml/overlay.spots, the trigger outlined) with the step, the phase
and the newest ASR / CA / TAR burned in, laid out for the frame size asked (default
1280x720, text readable on a projector).
"""

from __future__ import annotations

import io
import math
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

from ..ml.overlay import overlay
from .data import RunFacts, frame_maps
from .html import sample

FORMATS = ("gif", "webp")
FONT_DIR = Path("/usr/share/fonts/truetype/dejavu")
INK, MUTED, BG, BAR = (31, 41, 51), (97, 110, 124), (255, 255, 255), (16, 42, 67)
PHASE_RGB = {"ascent": (213, 94, 0), "recovery": (0, 114, 178)}


class ClipError(ValueError):
    """A clip cannot be made as asked; the message says what to change."""


@dataclass
class ClipOptions:
    probes: list[int] | None = None  # probe numbers (0-based); None: all (at most 8)
    fps: float = 6.0  # frames per second
    width: int = 1280
    height: int = 720
    max_frames: int = 150  # heatmap frames sampled evenly beyond this (first, last kept)
    hold: float = 2.0  # seconds the last frame stays before the loop restarts

    def check(self, available: int) -> list[int]:
        if not 0.5 <= self.fps <= 30:
            raise ClipError(f"fps={self.fps}: choose 0.5 to 30 frames per second")
        if not (320 <= self.width <= 3840 and 180 <= self.height <= 2160):
            raise ClipError(f"size {self.width}x{self.height}: choose 320x180 to 3840x2160")
        if self.max_frames < 2:
            raise ClipError(f"max_frames={self.max_frames}: at least 2")
        probes = self.probes if self.probes else list(range(min(available, 8)))
        bad = [p for p in probes if not 0 <= p < available]
        if bad:
            raise ClipError(f"probes {bad} do not exist: this run has probes 0 to {available - 1}")
        return probes


def _font(size: int, bold: bool = False) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    path = FONT_DIR / ("DejaVuSans-Bold.ttf" if bold else "DejaVuSans.ttf")
    try:
        return ImageFont.truetype(str(path), size)
    except OSError:
        return ImageFont.load_default(size)


def _grid(n: int, w: int, h: int, caption: int) -> tuple[int, int, int]:
    """(columns, rows, tile side) that make the largest square tiles for n pairs."""
    best = (1, n, 0)
    for cols in range(1, n + 1):
        rows = math.ceil(n / cols)
        side = min((w - 24 * cols) // (2 * cols), (h - rows * (caption + 16)) // rows)
        if side > best[2]:
            best = (cols, rows, side)
    return best


# the verdict's tone on the dark header bar (light enough to read on it)
TONE_RGB = {
    "good": (120, 220, 170),
    "mixed": (255, 200, 90),
    "bad": (255, 130, 120),
    "none": (188, 204, 220),
}


class ClipPainter:
    def __init__(self, facts: RunFacts, probes: list[int], width: int, height: int) -> None:
        self.facts, self.probes, self.w, self.h = facts, probes, width, height
        u = height / 720
        self.big, self.bold = _font(round(34 * u), True), _font(round(26 * u), True)
        self.text, self.small = _font(round(22 * u)), _font(round(19 * u))
        self.head = round(118 * u)
        self.caption = round(2.6 * 21 * u)
        self.images = facts.probe_images()
        self.box = facts.started.trigger_box if facts.started else None
        self.total = max(facts.last_step, 1)
        self.verdict = facts.verdict()

    def frame(self, index: int) -> Image.Image:
        f = self.facts.frames[index]
        img = Image.new("RGB", (self.w, self.h), BG)
        draw = ImageDraw.Draw(img)
        self._header(draw, f.step)
        self._probes(img, draw, index)
        return img

    def _header(self, draw: ImageDraw.ImageDraw, step: int) -> None:
        facts, u = self.facts, self.h / 720
        draw.rectangle([0, 0, self.w, self.head], fill=BAR)
        pad = round(24 * u)
        draw.text(
            (pad, round(14 * u)), f"Step {step} / {self.total}", font=self.big, fill=(255, 255, 255)
        )
        phase = facts.phase_at(step)
        where = (
            "before unlearning" if phase is None else f"phase {phase['index'] + 1}: {phase['kind']}"
        )
        line = f"{facts.name} · {where}"
        draw.text((pad, round(62 * u)), line, font=self.text, fill=(188, 204, 220))
        verdict = self.verdict
        if step >= facts.last_step and verdict["final"]:
            # the last frame says the verdict, in words (its colour only repeats them)
            at = pad + draw.textlength(f"{line} · ", font=self.text)
            said = f"Verdict: {verdict['label']}"
            draw.text((at, round(62 * u)), said, font=self.bold, fill=TONE_RGB[verdict["tone"]])

        def val(key: str, pct: bool) -> str:
            v = facts.latest(step, key)
            return "–" if v is None else (f"{v:.1f}%" if pct else f"{v:.2f}")

        x: float = self.w - pad
        for name, value in reversed(
            [("ASR", val("asr", True)), ("CA", val("ca", True)), ("TAR", val("tar_median", False))]
        ):
            tw = draw.textlength(value, font=self.big)
            draw.text((x - tw, round(14 * u)), value, font=self.big, fill=(255, 255, 255))
            nw = draw.textlength(name, font=self.text)
            draw.text((x - nw, round(62 * u)), name, font=self.text, fill=(188, 204, 220))
            x -= max(tw, nw) + round(36 * u)
        # progress along the run, coloured by phase
        y0, y1 = self.head - round(12 * u), self.head
        draw.rectangle([0, y0, self.w, y1], fill=(72, 101, 129))
        for p in facts.phases:
            end = p["end"] if p["end"] is not None else facts.last_step
            xa, xb = self.w * p["start"] / self.total, self.w * end / self.total
            draw.rectangle([xa, y0, xb, y1], fill=PHASE_RGB.get(p["kind"], (0, 158, 115)))
        xs = self.w * step / self.total
        draw.rectangle([xs - 3 * u, y0 - 4 * u, xs + 3 * u, y1], fill=(253, 231, 37))

    def _probes(self, img: Image.Image, draw: ImageDraw.ImageDraw, index: int) -> None:
        """Pairs of tiles (clean, triggered): the true class and TAR above, predictions below."""
        facts, f = self.facts, self.facts.frames[index]
        maps = frame_maps(f)
        u = self.h / 720
        top = self.head + round(12 * u)
        cols, rows, side = _grid(len(self.probes), self.w, self.h - top, self.caption)
        cell_w, cell_h = 2 * side + 24, side + self.caption + 16
        left = (self.w - cols * cell_w) // 2 + 12
        top += max(0, (self.h - top - rows * cell_h) // 2)  # centred in the space left
        line = round(self.caption / 2)
        classes, target = facts.classes, facts.target_class
        labels = facts.probes.labels if facts.probes else []
        for k, p in enumerate(self.probes):
            x, y = left + (k % cols) * cell_w, top + (k // cols) * cell_h
            tar = f.tars[p]
            self._fit(
                draw, (x, y), classes[labels[p]], 2 * side - 90 * u, self.small, INK, bold=True
            )
            if tar is not None:
                t = f"TAR {tar:.2f}"
                draw.text(
                    (x + 2 * side - draw.textlength(t, font=self.small), y),
                    t,
                    font=self.small,
                    fill=MUTED,
                )
            y += line
            for v, name in ((0, "clean"), (1, "trigger")):
                assert self.images is not None  # frames exist only with probes
                rgb = overlay(self.images[p, v], maps[p, v], box=self.box, view="spots")
                tile = Image.fromarray(rgb).resize((side - 2, side - 2), Image.Resampling.NEAREST)
                img.paste(tile, (x + v * side, y))
                tw = draw.textlength(name, font=self.small)
                draw.rectangle(
                    [x + v * side, y, x + v * side + tw + 10 * u, y + 26 * u], fill=(16, 42, 67)
                )
                draw.text(
                    (x + v * side + 5 * u, y + 1 * u), name, font=self.small, fill=(255, 255, 255)
                )
                pred = f.preds[p][v]
                hit = pred == target and labels[p] != target
                self._fit(
                    draw,
                    (x + v * side, y + side + 2),
                    f"→ {classes[pred]}",
                    side - 6,
                    self.small,
                    (179, 38, 30) if hit else INK,
                )

    def _fit(
        self,
        draw: ImageDraw.ImageDraw,
        xy: tuple[float, float],
        text: str,
        width: float,
        font: ImageFont.FreeTypeFont | ImageFont.ImageFont,
        fill: tuple[int, int, int],
        bold: bool = False,
    ) -> None:
        """Draw `text` at `xy`, in a smaller size when it is wider than `width`."""
        size = getattr(font, "size", 19)
        face = _font(size, bold)
        while draw.textlength(text, font=face) > width and size > 11:
            size -= 1
            face = _font(size, bold)
        draw.text(xy, text, font=face, fill=fill)


def render_clip(facts: RunFacts, fmt: str = "gif", options: ClipOptions | None = None) -> bytes:
    """The clip as GIF or WebP bytes; ClipError when the run has nothing to animate."""
    options = options or ClipOptions()
    if fmt not in FORMATS:
        raise ClipError(f"format {fmt!r}: choose one of {', '.join(FORMATS)}")
    if not facts.frames or facts.probes is None:
        raise ClipError("this run recorded no heatmap frames, so there is nothing to animate")
    probes = options.check(min(facts.frames[0].count, len(facts.probes.indices)))
    painter = ClipPainter(facts, probes, options.width, options.height)
    keep = sample(len(facts.frames), options.max_frames)
    frames = [painter.frame(i) for i in keep]
    step_ms = round(1000 / options.fps)
    durations = [step_ms] * (len(frames) - 1) + [max(step_ms, round(1000 * options.hold))]
    buf = io.BytesIO()
    if fmt == "gif":
        palette = _palette(frames)
        paletted = [f.quantize(palette=palette, dither=Image.Dither.NONE) for f in frames]
        paletted[0].save(
            buf,
            format="GIF",
            save_all=True,
            append_images=paletted[1:],
            duration=durations,
            loop=0,  # Pillow stores only what changed from the previous frame
        )
    else:
        frames[0].save(
            buf,
            format="WEBP",
            save_all=True,
            append_images=frames[1:],
            duration=durations,
            loop=0,
            quality=80,
            method=2,
        )
    return buf.getvalue()


def _palette(frames: list[Image.Image]) -> Image.Image:
    """One 256-colour palette for every frame (no flicker): from the first and last frames."""
    a, b = frames[0], frames[-1]
    both = Image.new("RGB", (a.width, a.height * 2))
    both.paste(a, (0, 0))
    both.paste(b, (0, a.height))
    return both.quantize(colors=256, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE)


def write_clip(facts: RunFacts, path: Path, options: ClipOptions | None = None) -> Path:
    """Write the clip; the format follows the file's suffix (.gif or .webp)."""
    fmt = path.suffix.lower().lstrip(".")
    data = render_clip(facts, fmt, options)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path
