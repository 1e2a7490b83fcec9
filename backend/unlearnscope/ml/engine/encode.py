"""Tensors to events: what the engine measured, as the plain bytes and lists events carry.

Heatmaps, probe images and a kind's pictures travel as raw uint8 bytes in C order (shapes
in the event's fields); floats as plain lists. Nothing here decides what to measure.
"""

from __future__ import annotations

import torch

from ...events import FramesEvent, PhaseVisualEvent, ProbesEvent
from ..kinds.protocol import PhaseVisual
from ..monitor import FrameBatch, Monitor


def frames_event(frames: FrameBatch, step: int) -> FramesEvent:
    """The probe heatmaps of one monitoring pass: maps (P, 2, H, W) uint8."""
    p, s = frames.maps.shape[0], frames.maps.shape[-1]
    return FramesEvent(
        step=step,
        size=s,
        count=p,
        maps=frames.maps.numpy().tobytes(),
        preds=frames.preds.tolist(),
        confs=[[round(c, 4) for c in row] for row in frames.confs.tolist()],
        tars=frames.tars,
    )


def probes_event(monitor: Monitor, size: int) -> ProbesEvent:
    """The fixed probe samples, once: images (P, 2, H, W, 3) uint8, region (P, H, W)."""
    region = monitor.probe_region
    region_bytes = None if region is None else region.to(torch.uint8).cpu().contiguous()
    return ProbesEvent(
        indices=monitor.probe_idx.tolist(),
        labels=monitor.probe_labels.tolist(),
        size=size,
        images=monitor.probe_images.permute(0, 1, 3, 4, 2).contiguous().numpy().tobytes(),
        region=None if region_bytes is None else region_bytes.numpy().tobytes(),
    )


def visual_event(v: PhaseVisual, step: int, phase_index: int, kind: str) -> PhaseVisualEvent:
    """A kind's panel: an (H, W, 3) uint8 image and/or named values and scalars."""
    image = None if v.image is None else v.image.to(torch.uint8).cpu().contiguous()
    return PhaseVisualEvent(
        step=step,
        phase_index=phase_index,
        kind=kind,
        name=v.name,
        height=0 if image is None else int(image.shape[0]),
        width=0 if image is None else int(image.shape[1]),
        image=None if image is None else image.numpy().tobytes(),
        values={k: [float(x) for x in xs] for k, xs in v.values.items()},
        scalars={k: float(x) for k, x in v.scalars.items()},
        text=v.text,
        ticks=list(v.ticks),
    )
