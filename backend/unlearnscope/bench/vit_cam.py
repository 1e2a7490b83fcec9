"""Our Grad-CAM on a ViT's tokens against pytorch-grad-cam's: images per second, same CPU.

    python -m unlearnscope.bench.vit_cam [--threads 1] [--image-size 64] [--repeats 5]

timm's `vit_tiny_patch16_224`, random-init (seeded, eval mode), built for 64x64 images by
default (a 4x4 token grid, about 20 s in all on one thread; `--image-size 224` gives the
native 14x14 grid and takes about 80 s), 32 random images, maps for the predicted class.
Ours: the CAM layer `blocks[-1].norm1` with the classifier's `cam_reshape`; theirs:
`GradCAM` on the same layer with the `reshape_transform` of their ViT tutorial. As in
bench/cam.py, each repeat times both back to back (after one warm-up call each) so
background load hits both alike, `fwd` is one plain no-grad forward pass, and the maps are
compared. pytorch-grad-cam (package `grad-cam`, a test dependency) is optional: without it
only our timings are printed.
"""

from __future__ import annotations

import argparse
import copy
import functools
import os
import statistics
import time
from collections.abc import Callable
from typing import Any

import torch
from torch import Tensor

from ..ml.cam import make_cam
from ..ml.models.classifier import build_named_classifier, get_layer
from ..ml.models.named import TokenGrid

MODEL = "timm:vit_tiny_patch16_224"
IMAGENET_MEAN, IMAGENET_STD = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)
BATCH = 32


def vit_reshape_transform(tensor: Tensor, height: int, width: int) -> Tensor:
    """pytorch-grad-cam's documented `reshape_transform` for ViT: drop the class token,
    (B, h*w, C) -> (B, C, h, w)."""
    result = tensor[:, 1:, :].reshape(tensor.size(0), height, width, tensor.size(2))
    return result.transpose(2, 3).transpose(1, 2)


def _time_ms(fn: Callable[[], Any]) -> float:
    start = time.perf_counter()
    fn()
    return (time.perf_counter() - start) * 1e3


def bench(image_size: int = 64, batch: int = BATCH, repeats: int = 5) -> dict[str, Any]:
    """One row: median ms and images/s of a forward pass, ours and theirs, and the maps'
    largest difference."""
    torch.manual_seed(0)
    model = build_named_classifier(MODEL, 10, IMAGENET_MEAN, IMAGENET_STD, image_size).eval()
    x = torch.rand(batch, 3, image_size, image_size, generator=torch.Generator().manual_seed(1))
    ours = make_cam("gradcam", model)
    theirs: Any = None
    try:
        from pytorch_grad_cam import GradCAM
    except ImportError:
        pass
    else:
        ref = copy.deepcopy(model)  # it back-propagates into the parameters
        tokens = getattr(model.cam_reshape, "__self__", None)  # the classifier's TokenGrid
        assert isinstance(tokens, TokenGrid)
        h, w = tokens.grid
        reshape = functools.partial(vit_reshape_transform, height=h, width=w)
        theirs = GradCAM(ref, [get_layer(ref, model.cam_layer_name)], reshape_transform=reshape)

    def forward() -> None:
        with torch.no_grad():
            model(x)

    def run_theirs() -> Any:
        return theirs(x, None)  # (B, H, W) numpy, predicted classes

    our_maps = ours(x).maps  # warm-up, and the maps to compare
    their_maps = run_theirs() if theirs is not None else None
    forward()
    times: dict[str, list[float]] = {"fwd": [], "ours": [], "theirs": []}
    for _ in range(repeats):
        times["fwd"].append(_time_ms(forward))
        times["ours"].append(_time_ms(lambda: ours(x)))
        if theirs is not None:
            times["theirs"].append(_time_ms(run_theirs))
    if theirs is not None:
        theirs.activations_and_grads.release()

    def per_s(ms: float) -> float:
        return batch / ms * 1e3

    fwd_ms, ours_ms = statistics.median(times["fwd"]), statistics.median(times["ours"])
    row: dict[str, Any] = {
        "model": MODEL,
        "image_size": image_size,
        "grid": f"{image_size // 16}x{image_size // 16}",
        "batch": batch,
        "threads": torch.get_num_threads(),
        "fwd_ms": fwd_ms,
        "fwd_img_s": per_s(fwd_ms),
        "ours_ms": ours_ms,
        "ours_img_s": per_s(ours_ms),
        "theirs_ms": None,
        "theirs_img_s": None,
        "ratio": None,
        "max_abs_diff": None,
    }
    if their_maps is not None:
        theirs_ms = statistics.median(times["theirs"])
        row["theirs_ms"] = theirs_ms
        row["theirs_img_s"] = per_s(theirs_ms)
        row["ratio"] = theirs_ms / ours_ms  # > 1: ours is faster
        row["max_abs_diff"] = (our_maps - torch.from_numpy(their_maps)).abs().max().item()
    return row


def run(threads: int, image_size: int = 64, repeats: int = 5) -> list[dict[str, Any]]:
    """Time our Grad-CAM and pytorch-grad-cam's on 32 images of `image_size` with `threads`
    CPU threads (the benchmark's setting: 1), median of `repeats`; prints the table."""
    torch.set_num_threads(threads)
    rows = [bench(image_size, BATCH, repeats)]
    print(
        f"torch {torch.__version__}, CPU, {torch.get_num_threads()} thread(s); {MODEL} at "
        f"{image_size}x{image_size} ({rows[0]['grid']} tokens), {BATCH} images, Grad-CAM, "
        f"median of {repeats}"
    )
    print(format_table(rows))
    if rows[0]["theirs_ms"] is None:
        print("pytorch-grad-cam is not installed (pip install grad-cam): no comparison")
    return rows


def format_table(rows: list[dict[str, Any]]) -> str:
    def num(v: float | None, fmt: str) -> str:
        return "-" if v is None else format(v, fmt)

    header = (
        f"{'size':>5} {'fwd img/s':>10} {'ours img/s':>11} {'theirs img/s':>13} "
        f"{'ratio':>7} {'max |diff|':>10}"
    )
    lines = [header, "-" * len(header)]
    for r in rows:
        ratio = "-" if r["ratio"] is None else f"{r['ratio']:.2f}x"
        lines.append(
            f"{r['image_size']:>5} {num(r['fwd_img_s'], '.1f'):>10} "
            f"{num(r['ours_img_s'], '.1f'):>11} {num(r['theirs_img_s'], '.1f'):>13} "
            f"{ratio:>7} {num(r['max_abs_diff'], '.1e'):>10}"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m unlearnscope.bench.vit_cam", description=__doc__
    )
    parser.add_argument("--threads", type=int, default=1, help="CPU threads (default 1)")
    parser.add_argument("--image-size", type=int, default=64, help="64 (default) or 224")
    parser.add_argument("--repeats", type=int, default=5, help="timed repeats (default 5)")
    args = parser.parse_args(argv)
    if hasattr(os, "getloadavg"):  # other jobs on a shared machine skew both columns
        print(f"load average before: {os.getloadavg()[0]:.2f}")
    rows = run(args.threads, args.image_size, args.repeats)
    if hasattr(os, "getloadavg"):
        print(f"load average after: {os.getloadavg()[0]:.2f}")
    mismatched = [r for r in rows if r["max_abs_diff"] is not None and r["max_abs_diff"] > 1e-3]
    if mismatched:
        print("MAPS DIFFER by more than 1e-3")
    return 1 if mismatched else 0


if __name__ == "__main__":
    raise SystemExit(main())
