"""Our batched CAM against pytorch-grad-cam: median milliseconds per batch, same device.

    python -m unlearnscope.bench.cam [--quick] [--device cpu] [--threads N] [--methods M ...]

Random-init models (seeded, eval mode) on random 32x32 images; maps for the predicted
class. Each repeat times both implementations back to back (after one warm-up call each),
so background load on a shared machine hits both alike. `fwd ms` is one plain no-grad
forward pass, the floor for any gradient-based CAM. pytorch-grad-cam (package `grad-cam`,
a test dependency) is optional: without it only our timings are printed.
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import os
import statistics
import time
from collections.abc import Callable, Iterator
from typing import Any

import torch
from torch import nn

from ..ml.cam import make_cam
from ..ml.models.classifier import build_model, get_layer

CIFAR_MEAN, CIFAR_STD = (0.4914, 0.4822, 0.4465), (0.2470, 0.2435, 0.2616)
MODELS = (("small_cnn", 32), ("resnet18", 32))  # (name, width); resnet18 ignores width
THEIR_CLASSES = {
    "gradcam": "GradCAM",
    "gradcam++": "GradCAMPlusPlus",
    "xgradcam": "XGradCAM",
    "layercam": "LayerCAM",
    "hirescam": "HiResCAM",
    "eigencam": "EigenCAM",
}


def available_threads() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def _timer(device: torch.device) -> Callable[[Callable[[], Any]], float]:
    def time_ms(fn: Callable[[], Any]) -> float:
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        start = time.perf_counter()
        fn()
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        return (time.perf_counter() - start) * 1e3

    return time_ms


def _their_cam(method: str, model: nn.Module) -> Any | None:
    """pytorch-grad-cam's CAM for `method` on its own copy of the model, or None."""
    try:
        import pytorch_grad_cam
    except ImportError:
        return None
    theirs = copy.deepcopy(model)  # it back-propagates into the parameters
    cls = getattr(pytorch_grad_cam, THEIR_CLASSES[method])
    return cls(theirs, [get_layer(theirs, str(model.cam_layer_name))])


@contextlib.contextmanager
def _their_eigencam_sign_corrected() -> Iterator[None]:
    """Our EigenCAM fixes the SVD's arbitrary sign (largest-magnitude value positive); theirs
    keeps numpy's. For a like-for-like comparison, give theirs the same sign correction
    (their own `get_2d_projection_with_sign_correction`, which costs nothing measurable)."""
    try:
        import pytorch_grad_cam.eigen_cam as their_eigen
        from pytorch_grad_cam.utils.svd_on_activations import (
            get_2d_projection_with_sign_correction,
        )
    except ImportError:
        yield
        return
    original = their_eigen.get_2d_projection
    their_eigen.get_2d_projection = get_2d_projection_with_sign_correction
    try:
        yield
    finally:
        their_eigen.get_2d_projection = original


def bench_one(
    name: str, width: int, batch: int, method: str, device: torch.device, repeats: int
) -> dict[str, Any]:
    torch.manual_seed(0)
    model = build_model(name, 10, CIFAR_MEAN, CIFAR_STD, width=width).to(device).eval()
    x = torch.rand(batch, 3, 32, 32, generator=torch.Generator().manual_seed(1)).to(device)
    ours = make_cam(method, model)
    theirs = _their_cam(method, model)
    time_ms = _timer(device)

    def forward() -> None:
        with torch.no_grad():
            model(x)

    def run_theirs() -> Any:
        assert theirs is not None
        return theirs(x, None)  # (B, H, W) numpy

    our_maps = ours(x).maps  # warm-up, and the maps to compare
    their_maps = run_theirs() if theirs is not None else None
    forward()
    times: dict[str, list[float]] = {"fwd": [], "ours": [], "theirs": []}
    for _ in range(repeats):
        times["fwd"].append(time_ms(forward))
        times["ours"].append(time_ms(lambda: ours(x)))
        if theirs is not None:
            times["theirs"].append(time_ms(run_theirs))
    if theirs is not None:
        theirs.activations_and_grads.release()

    row: dict[str, Any] = {
        "model": name,
        "batch": batch,
        "method": method,
        "device": str(device),
        "threads": torch.get_num_threads(),
        "fwd_ms": statistics.median(times["fwd"]),
        "ours_ms": statistics.median(times["ours"]),
        "theirs_ms": None,
        "speedup": None,
        "max_abs_diff": None,
        "match": None,
    }
    if their_maps is not None:
        diff = (our_maps.cpu() - torch.from_numpy(their_maps)).abs().max().item()
        row["theirs_ms"] = statistics.median(times["theirs"])
        row["speedup"] = row["theirs_ms"] / row["ours_ms"]
        row["max_abs_diff"] = diff
        row["match"] = diff <= 1e-3
    return row


def run_cam_bench(
    device: str = "cpu",
    quick: bool = False,
    methods: tuple[str, ...] = ("gradcam",),
    threads: int | None = None,
    models: tuple[str, ...] | None = None,
) -> list[dict[str, Any]]:
    """Time our CAM and pytorch-grad-cam on small_cnn (width 32) and ResNet-18, 32x32 inputs.

    Batches 16 and 64 (quick: 16 only, fewer repeats). One dict per (model, batch, method):
    fwd_ms, ours_ms, theirs_ms (medians), speedup = theirs/ours, max_abs_diff, match.
    CPU threads: `threads`, or every core this process may use. `models`: only these names.
    """
    if device == "cpu":
        torch.set_num_threads(threads or available_threads())
    dev = torch.device(device)
    batches = (16,) if quick else (16, 64)
    repeats = 5 if quick else 15
    with _their_eigencam_sign_corrected():
        return [
            bench_one(name, width, batch, method, dev, repeats)
            for name, width in MODELS
            if models is None or name in models
            for batch in batches
            for method in methods
        ]


def format_table(rows: list[dict[str, Any]]) -> str:
    def num(v: float | None, fmt: str) -> str:
        return "-" if v is None else format(v, fmt)

    header = (
        f"{'model':<10} {'batch':>5} {'method':<10} {'fwd ms':>8} {'ours ms':>8} "
        f"{'theirs ms':>10} {'speedup':>8} {'max |diff|':>10}  match"
    )
    lines = [header, "-" * len(header)]
    for r in rows:
        speedup = "-" if r["speedup"] is None else f"{r['speedup']:.2f}x"
        lines.append(
            f"{r['model']:<10} {r['batch']:>5} {r['method']:<10} {num(r['fwd_ms'], '.1f'):>8} "
            f"{num(r['ours_ms'], '.1f'):>8} {num(r['theirs_ms'], '.1f'):>10} {speedup:>8} "
            f"{num(r['max_abs_diff'], '.1e'):>10}  {'-' if r['match'] is None else r['match']}"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m unlearnscope.bench.cam", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="batch 16 only, 5 repeats")
    parser.add_argument("--device", default="cpu", help="cpu, cuda, cuda:1, ... (default cpu)")
    parser.add_argument("--threads", type=int, help="CPU threads (default: all available)")
    parser.add_argument(
        "--methods", nargs="+", default=["gradcam"], choices=list(THEIR_CLASSES), metavar="M"
    )
    args = parser.parse_args(argv)
    if args.device.startswith("cuda") and not torch.cuda.is_available():
        parser.error("--device cuda: no CUDA device is available here; use --device cpu")
    load_before = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    rows = run_cam_bench(args.device, args.quick, tuple(args.methods), args.threads)
    print(f"torch {torch.__version__}, device {args.device}, {torch.get_num_threads()} threads")
    if hasattr(os, "getloadavg"):  # other jobs on a shared machine skew both columns
        print(f"load average before/after: {load_before:.2f} / {os.getloadavg()[0]:.2f}")
    print(format_table(rows))
    if any(r["theirs_ms"] is None for r in rows):
        print("pytorch-grad-cam is not installed (pip install grad-cam): no comparison")
    mismatched = [r for r in rows if r["match"] is False]
    if mismatched:
        print(f"MAPS DIFFER by more than 1e-3 in {len(mismatched)} configuration(s)")
    return 1 if mismatched else 0


if __name__ == "__main__":
    raise SystemExit(main())
