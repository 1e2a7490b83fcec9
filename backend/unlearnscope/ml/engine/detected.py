"""What a detection phase decided, as the run shows it: the score histogram (split into
truly poisoned and clean when the truth is known), the threshold, the flagged count and,
with the truth, precision, recall and ROC-AUC; a grid of the most suspicious training
images with their Grad-CAM maps; and the `ForgetSetFound` event with the flagged indices.

The truth enters only here, after the detector has decided, and only as numbers and
colours people see: the forget set the later phases get is the flagged samples alone.
"""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ...events import ForgetSetFound
from ..cam import make_cam
from ..detection.quality import detection_quality, score_histogram
from ..detection.result import Detection
from ..imageset import ImageSet
from ..kinds.protocol import PhaseVisual
from ..overlay import overlay

GRID = 16  # most suspicious images shown
COLUMNS = 8
TILE = 48  # pixels per image in the grid
GAP = 3
POISONED = (213, 94, 0)  # the page's orange: truly poisoned
CLEAN = (0, 114, 178)  # the page's blue: truly clean
UNKNOWN = (140, 140, 140)


def _or_none(x: float) -> float | None:
    return None if math.isnan(x) else x


def found_event(
    det: Detection,
    truth: torch.Tensor | None,
    step: int,
    phase_index: int,
    kind: str,
) -> ForgetSetFound:
    """The event recording which samples were flagged (and how well, with the truth)."""
    q = detection_quality(det, truth) if truth is not None else None
    return ForgetSetFound(
        step=step,
        phase_index=phase_index,
        kind=kind,
        rule=det.rule,
        indices=det.flagged_idx.tolist(),
        training_size=len(det.scores),
        suspect_classes=list(det.suspect_classes),
        truth_known=q is not None,
        true_flagged=None if q is None else int(q["true_flagged"]),
        poisoned=None if q is None else int(q["poisoned"]),
        precision=None if q is None else _or_none(q["precision"]),
        recall=None if q is None else _or_none(q["recall"]),
        auc=None if q is None else _or_none(q["auc"]),
    )


def histogram_visual(
    det: Detection, truth: torch.Tensor | None, labels: torch.Tensor | None = None
) -> PhaseVisual:
    """The score histogram with its threshold, flagged count and quality."""
    flagged = int(det.flagged.sum())
    scalars: dict[str, float] = {
        "flagged": float(flagged),
        "training_images": float(len(det.scores)),
    }
    if det.threshold is not None and math.isfinite(det.threshold):
        scalars["threshold"] = det.threshold
    text = f"Flagged {flagged:,} of {len(det.scores):,} training images: {det.rule}."
    if truth is not None:
        q = detection_quality(det, truth)
        scalars.update({k: v for k, v in q.items() if not math.isnan(v)})
        text += (
            f" {int(q['true_flagged']):,} of them are truly poisoned "
            f"(of {int(q['poisoned']):,} in the training set)."
        )
    shown = torch.ones(len(det.scores), dtype=torch.bool)
    if det.class_rule is not None and det.suspect_classes and labels is not None:
        # a detector that judges classes first: the scores inside the classes it judged
        # poisoned (elsewhere nothing is flagged, whatever a sample's score)
        shown = torch.isin(labels, torch.tensor(det.suspect_classes))
        text += (
            f" The histogram shows the {int(shown.sum()):,} images of the class(es) it "
            "judged poisoned; those right of 0 are flagged."
        )
        scalars["threshold"] = 0.0
    elif det.class_rule is not None:
        text += " No class was judged poisoned; the histogram shows every image."
    values = score_histogram(det.scores[shown], None if truth is None else truth[shown])
    return PhaseVisual(name="detection_scores", values=values, scalars=scalars, text=text)


def classes_visual(det: Detection, classes: list[str]) -> PhaseVisual | None:
    """A class-judging detector's statistic per class, with its cut."""
    if det.class_rule is None:
        return None
    stat, cut, side = det.class_rule
    values = det.class_stats.get(stat)
    if values is None:
        return None
    judged = ", ".join(f"{c} {classes[c]}" for c in det.suspect_classes) or "none"
    return PhaseVisual(
        name="class_test",
        values={"labels": [float(c) for c in range(len(values))], stat: [float(v) for v in values]},
        scalars={"rule": cut},
        text=f"Each class's {stat.replace('_', ' ')}; a class is judged poisoned {side} "
        f"{cut:.3g}. Judged poisoned: {judged}.",
    )


def suspects_visual(
    det: Detection,
    pool: ImageSet,
    truth: torch.Tensor | None,
    model: nn.Module,
    cam_method: str,
    cam_layer: str,
) -> PhaseVisual | None:
    """The most suspicious training images, each with the Grad-CAM map of its predicted
    class, framed orange (truly poisoned), blue (clean) or grey (truth unknown)."""
    order = det.flagged_idx
    if len(order) == 0:
        return None
    idx = order[:GRID]
    x, _ = pool.batch(idx)  # (k, 3, H, W) float [0, 1]
    device = next(model.parameters()).device
    with make_cam(cam_method, model, cam_layer) as cam:
        maps = cam(x.to(device)).maps.detach().float().cpu()  # (k, H, W)
    size = min(TILE, x.shape[-1] * max(1, TILE // x.shape[-1]))
    x = F.interpolate(x, size=(size, size), mode="nearest")
    maps = F.interpolate(maps[:, None], size=(size, size), mode="bilinear", align_corners=False)[
        :, 0
    ]
    k = len(idx)
    cols = min(COLUMNS, k)
    rows = math.ceil(k / cols)
    cell = size + 2 * GAP
    grid = np.full((rows * cell, cols * cell, 3), 255, dtype=np.uint8)
    for j in range(k):
        r, c = divmod(j, cols)
        img = (x[j].permute(1, 2, 0).numpy() * 255).round().astype(np.uint8)
        tile = overlay(img, maps[j].clamp(0, 1).numpy(), alpha=0.45)
        colour = UNKNOWN if truth is None else (POISONED if bool(truth[idx[j]]) else CLEAN)
        y0, x0 = r * cell, c * cell
        grid[y0 : y0 + cell, x0 : x0 + cell] = colour
        grid[y0 + GAP : y0 + GAP + size, x0 + GAP : x0 + GAP + size] = tile
    text = (
        f"The {k} most suspicious training images, with the Grad-CAM map of the class "
        "the model predicts"
    )
    if truth is not None:
        hits = int(truth[idx].sum())
        text += f"; framed orange if truly poisoned ({hits} of {k}), blue if clean."
    else:
        text += " (no record of which are poisoned)."
    return PhaseVisual(
        name="suspects",
        image=torch.from_numpy(grid),
        scalars={"shown": float(k)},
        text=text,
    )
