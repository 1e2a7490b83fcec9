"""Class activation maps (Grad-CAM and friends), batched on the model's device.

One implementation for six methods, shaped like pytorch-grad-cam: `BaseCAM` captures the
CAM layer's activations A (B, C, h, w) and the gradients dy_c/dA, and each method differs
in one small method: `channel_weights` (Grad-CAM, Grad-CAM++, XGradCAM: cam = sum_k w_k A_k)
or `combine` (LayerCAM, HiResCAM, EigenCAM). Every map then goes through the same steps:
ReLU, bilinear upsampling to the input size (align_corners=False), per-image min-max
normalisation to [0, 1] (a constant map, e.g. all zero after the ReLU, becomes all zero).
Transformers: when the model has a `cam_reshape` (models/named.py's `TokenGrid.reshape`), the
layer's tokens (B, N, C) are captured as they are and both A and dy_c/dA go through it, like
pytorch-grad-cam's `reshape_transform`, so every method works unchanged on the token grid.

Why not pytorch-grad-cam itself: it back-propagates to every parameter, copies to numpy and
resizes image by image. Here the network below the CAM layer runs without autograd, the
backward pass stops at the CAM layer (torch.autograd.grad w.r.t. the captured activation),
and everything stays batched on the model's device.

The model is left as it was found: run in eval mode and restored module by module,
parameter .grad and requires_grad untouched, the input never modified, and the hook lives
only for the duration of one forward pass (so a CAM object kept across training steps can
never interfere with training).

    with make_cam("gradcam", model, model.cam_layer_name) as cam:
        res = cam(x)  # res.maps (B, H, W) in [0, 1], res.logits (B, K), res.classes (B,)
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .. import config
from .models.classifier import get_layer

ClassChoice = Tensor | Sequence[int] | int | None  # None: the predicted class


@dataclass(frozen=True)
class CamResult:
    maps: Tensor  # (B, H, W) float in [0, 1], at input size
    logits: Tensor  # (B, K), detached, from the same forward pass
    classes: Tensor  # (B,) long: the class each map explains


class BaseCAM:
    """Captures activations and gradients of `layer`; subclasses say how to combine them."""

    uses_gradients = True

    def __init__(self, model: nn.Module, layer: nn.Module | str) -> None:
        self.model = model
        self.layer = get_layer(model, layer) if isinstance(layer, str) else layer

    # -- the per-method part ---------------------------------------------------------------
    def channel_weights(self, acts: Tensor, grads: Tensor) -> Tensor:
        """(B, C, h, w), (B, C, h, w) -> (B, C): one weight per channel."""
        raise NotImplementedError(f"{type(self).__name__} must define channel_weights")

    def combine(self, acts: Tensor, grads: Tensor | None) -> Tensor:
        """(B, C, h, w) activations and gradients -> (B, h, w) raw map, before the ReLU."""
        assert grads is not None
        weights = self.channel_weights(acts, grads)  # (B, C)
        return torch.einsum("bc,bchw->bhw", weights, acts)

    # -- public API --------------------------------------------------------------------------
    def __call__(self, x: Tensor, classes: ClassChoice = None) -> CamResult:
        """Maps for images `x` (B, 3, H, W) on the model's device, for `classes` (B,)."""
        return self.multi(x, [classes])[0]

    def multi(self, x: Tensor, class_sets: Sequence[ClassChoice]) -> list[CamResult]:
        """One forward pass, one map set per entry of `class_sets` (each (B,) or None).

        The backward passes only run from the logits down to the CAM layer, so each extra
        class choice costs little (e.g. predicted, true and target maps for an inspector).
        """
        if x.ndim != 4:
            raise ValueError(f"expected images (B, C, H, W), got shape {tuple(x.shape)}")
        # Maps never carry autograd history; gradients work even in a caller's inference_mode.
        with torch.inference_mode(False), torch.no_grad():
            return self._multi(x, class_sets)

    def _multi(self, x: Tensor, class_sets: Sequence[ClassChoice]) -> list[CamResult]:
        logits, acts, leaf = self._forward(x)
        size = (x.shape[-2], x.shape[-1])
        results: list[CamResult] = []
        shared_maps: Tensor | None = None  # methods without gradients: one map for all
        for choice in class_sets:
            classes = _resolve_classes(choice, logits)
            if self.uses_gradients:
                maps = normalise_maps(self.combine(acts, self._grads(logits, leaf, classes)), size)
            else:
                if shared_maps is None:
                    shared_maps = normalise_maps(self.combine(acts, None), size)
                maps = shared_maps
            results.append(CamResult(maps=maps, logits=logits.detach(), classes=classes))
        return results

    def __enter__(self) -> BaseCAM:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Nothing to release: hooks only exist during a forward pass."""

    # -- capture -----------------------------------------------------------------------------
    def _reshape(self) -> Callable[[Tensor], Tensor] | None:
        reshape: Callable[[Tensor], Tensor] | None = getattr(self.model, "cam_reshape", None)
        return reshape

    def _forward(self, x: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """Eval-mode forward pass: (B, K) logits, the CAM layer's (B, C, h, w) output A and
        the leaf it comes from (the layer's output itself, or its tokens for `cam_reshape`).

        The layers up to the CAM layer run without autograd. The hook swaps the layer's
        output for a fresh leaf that requires grad and switches autograd on, so the graph
        only spans the head (CAM layer -> logits); no_grad's exit restores the caller's mode.
        """
        captured: list[Tensor] = []

        def hook(module: nn.Module, inputs: tuple[Any, ...], output: object) -> Tensor:
            if not isinstance(output, Tensor):
                raise TypeError(f"CAM layer must return a tensor, got {type(output).__name__}")
            if captured:
                raise RuntimeError("the CAM layer ran twice in one forward pass; pick another")
            acts = output.detach().float().requires_grad_(self.uses_gradients)
            captured.append(acts)
            if self.uses_gradients:
                torch.set_grad_enabled(True)  # record the head only
            # A copy goes downstream: a later in-place op (ReLU(inplace=True)) must neither
            # alter the captured activations nor act on a leaf that requires grad.
            return acts.to(output.dtype, copy=True)

        modes = [(m, m.training) for m in self.model.modules()]
        handle = self.layer.register_forward_hook(hook)
        try:
            self.model.eval()
            with torch.no_grad():
                logits = self.model(x.detach())  # (B, K)
        finally:
            handle.remove()
            for module, training in modes:
                module.training = training
        if not captured:
            raise RuntimeError("the CAM layer did not run in the forward pass; is it in the model?")
        leaf, reshape = captured[0], self._reshape()
        return logits, (leaf if reshape is None else reshape(leaf)), leaf

    def _grads(self, logits: Tensor, leaf: Tensor, classes: Tensor) -> Tensor:
        """d logit_c / dA for each image's class c: (B, C, h, w), parameters untouched.

        Taken w.r.t. the captured leaf, then through `cam_reshape` (a re-indexing, so the
        reshaped gradient is the gradient w.r.t. the reshaped activations)."""
        # Images are independent in eval mode, so the gradient of the summed scores w.r.t.
        # the batch of activations is the per-image gradient.
        with torch.enable_grad():
            score = logits.gather(1, classes[:, None]).sum()
        (grads,) = torch.autograd.grad(score, leaf, retain_graph=True)
        reshape = self._reshape()
        return grads if reshape is None else reshape(grads)


def _resolve_classes(choice: ClassChoice, logits: Tensor) -> Tensor:
    b, k = logits.shape
    if choice is None:
        return logits.detach().argmax(1)
    classes = torch.as_tensor(choice, dtype=torch.long, device=logits.device)
    if classes.ndim == 0:
        classes = classes.expand(b)
    if classes.shape != (b,):
        raise ValueError(f"classes must have shape ({b},), got {tuple(classes.shape)}")
    if bool(((classes < 0) | (classes >= k)).any()):
        raise ValueError(f"classes must lie in [0, {k - 1}], got {classes.tolist()}")
    return classes


def normalise_maps(cam: Tensor, size: tuple[int, int]) -> Tensor:
    """Raw (B, h, w) maps -> (B, H, W) in [0, 1]: ReLU, bilinear upsampling, min-max."""
    cam = torch.nan_to_num(cam.float(), nan=0.0).relu()  # a diverged model gives NaN maps
    cam = F.interpolate(cam[:, None], size=size, mode="bilinear", align_corners=False)[:, 0]
    flat = cam.flatten(1)  # (B, H*W)
    lo = flat.amin(1)[:, None, None]
    span = (flat.amax(1) - flat.amin(1))[:, None, None]
    span = torch.where(span > 0, span, torch.ones_like(span))  # constant map -> zeros
    return ((cam - lo) / span).clamp_(0.0, 1.0)


# -- the methods ---------------------------------------------------------------------------
_SPATIAL = (2, 3)


class GradCAM(BaseCAM):
    """w_k = mean_{h,w} dy_c/dA_k (Selvaraju et al., 2017)."""

    def channel_weights(self, acts: Tensor, grads: Tensor) -> Tensor:
        return grads.mean(_SPATIAL)


class GradCAMPlusPlus(BaseCAM):
    """Grad-CAM++ (Chattopadhay et al., 2018, eq. 19), as in pytorch-grad-cam.

    alpha = g^2 / (2 g^2 + sum_{h,w}(A) g^3 + 1e-6), zero where g == 0;
    w_k = sum_{h,w} alpha * ReLU(g).
    """

    def channel_weights(self, acts: Tensor, grads: Tensor) -> Tensor:
        g2 = grads.square()
        g3 = g2 * grads
        sum_acts = acts.sum(_SPATIAL, keepdim=True)  # (B, C, 1, 1)
        alpha = g2 / (2 * g2 + sum_acts * g3 + 1e-6)
        alpha = torch.where(grads != 0, alpha, torch.zeros_like(alpha))
        return (alpha * grads.relu()).sum(_SPATIAL)


class XGradCAM(BaseCAM):
    """w_k = sum_{h,w} g * A / (sum_{h,w} A + 1e-7) (Fu et al., 2020)."""

    def channel_weights(self, acts: Tensor, grads: Tensor) -> Tensor:
        sum_acts = acts.sum(_SPATIAL, keepdim=True)  # (B, C, 1, 1)
        return (grads * acts / (sum_acts + 1e-7)).sum(_SPATIAL)


class LayerCAM(BaseCAM):
    """cam = sum_k ReLU(g_k) * A_k, element-wise weights (Jiang et al., 2021)."""

    def combine(self, acts: Tensor, grads: Tensor | None) -> Tensor:
        assert grads is not None
        return (grads.relu() * acts).sum(1)


class HiResCAM(BaseCAM):
    """cam = sum_k g_k * A_k, element-wise weights (Draelos & Carin, 2020)."""

    def combine(self, acts: Tensor, grads: Tensor | None) -> Tensor:
        assert grads is not None
        return (grads * acts).sum(1)


class EigenCAM(BaseCAM):
    """Projection of the channel-centred activations on their first principal component.

    No gradients, so the map is the same for every class (Muhammad & Yeasin, 2020).
    The SVD's sign is arbitrary; we flip each map so that its largest-magnitude value is
    positive (the sign correction of Seg-Eigen-CAM, pytorch-grad-cam's
    `get_2d_projection_with_sign_correction`). pytorch-grad-cam's EigenCAM keeps whatever
    sign numpy's SVD returns, which can leave an all-zero map after the ReLU.
    """

    uses_gradients = False

    def combine(self, acts: Tensor, grads: Tensor | None) -> Tensor:
        b, _, h, w = acts.shape
        a = torch.nan_to_num(acts, nan=0.0).flatten(2).transpose(1, 2)  # (B, h*w, C)
        a = a - a.mean(1, keepdim=True)  # centre each channel over positions
        proj = _first_component(a)  # (B, h*w)
        flip = proj.amin(1).abs() > proj.amax(1).abs()
        proj = torch.where(flip[:, None], -proj, proj)
        return proj.view(b, h, w)


def _first_component(a: Tensor) -> Tensor:
    """a @ v1 for a (B, N, C), v1 its first right singular vector (sign arbitrary): (B, N).

    Through the eigenvectors of the smaller Gram matrix (N x N or C x C), several times
    faster than a batched SVD for these small, wide matrices: a a^T u1 = s1^2 u1 and
    a @ v1 = s1 u1.
    """
    n, c = a.shape[1:]
    if n <= c:
        evals, evecs = torch.linalg.eigh(a @ a.transpose(1, 2))  # ascending, (B, N), (B, N, N)
        top: Tensor = evecs[..., -1] * evals[:, -1:].clamp_min(0).sqrt()
        return top
    _, evecs = torch.linalg.eigh(a.transpose(1, 2) @ a)  # (B, C, C)
    projected: Tensor = (a @ evecs[..., -1:])[..., 0]
    return projected


_METHODS: dict[str, type[BaseCAM]] = {
    "gradcam": GradCAM,
    "gradcam++": GradCAMPlusPlus,
    "xgradcam": XGradCAM,
    "layercam": LayerCAM,
    "hirescam": HiResCAM,
    "eigencam": EigenCAM,
}
CAM_METHODS = config.CAM_METHODS  # the names are the config's; each has a class above
assert set(_METHODS) == set(CAM_METHODS), "every CAM method in config.CamMethod needs a class"


def make_cam(method: str, model: nn.Module, layer: nn.Module | str | None = None) -> BaseCAM:
    """The CAM object for `method`; `layer` defaults to `model.cam_layer_name`."""
    if method not in _METHODS:
        raise ValueError(f"unknown CAM method {method!r}; choose one of {list(CAM_METHODS)}")
    if layer is None:
        layer = getattr(model, "cam_layer_name", None)
        if layer is None:
            raise ValueError("no CAM layer given and the model names no default cam_layer_name")
    return _METHODS[method](model, layer)
