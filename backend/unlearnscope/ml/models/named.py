"""Networks by name: torchvision's and timm's architectures, randomly initialised, with a CAM layer.

    build_named("torchvision:resnet50", 10, 224)      # torchvision.models.get_model(...)
    build_named("timm:vit_tiny_patch16_224", 10, 64)  # timm.create_model(..., img_size=64)

Weights are never downloaded (`weights=None`, `pretrained=False`): trained weights come from
a file. timm's `img_size` is passed to the models that take it (ViT, DeiT, Swin, ...) and
left out for the others (CNNs); torchvision's ViTs get `image_size`. timm is imported on
first use only (its import takes seconds).

The default CAM layer, a dotted path inside the network: the first rule that applies and
whose layer passes the check below.

1. ViT-like transformers (timm ViT, DeiT, BEiT, EVA, ...: `patch_embed` and `blocks`;
   torchvision's `VisionTransformer`): the last block's first norm, `blocks[-1].norm1` or
   `encoder.layers[-1].ln_1`, as pytorch-grad-cam's docs recommend. Its output is tokens
   (B, N, C): `tokens` drops the prefix (class, distillation, register) tokens and lays the
   rest out on the patch grid, (B, C, h, w).
2. Swin (timm `layers[-1].blocks[-1].norm1`, torchvision `features[-1][-1].norm1`): the last
   stage's last block's first norm, whose (B, h, w, C) output `tokens` permutes.
3. `layer4` where there is one: ResNet, ResNeXt, Wide ResNet (torchvision and timm).
4. `features`: its last ReLU when it ends in a max-pool (VGG, AlexNet: the last conv's
   activations, before the pooling), otherwise `features` itself, the output of the last
   stage (DenseNet, MobileNet, EfficientNet, ConvNeXt, SqueezeNet, MNASNet).
5. timm EfficientNet and MobileNetV2 (`conv_head`, then `bn2`, before the pooling): `bn2`.
6. Any other timm model: its last feature stage, `feature_info[-1]["module"]` (`stages.3`
   for ConvNeXt, `blocks.5` for MobileNetV3, `s4` for RegNet).
7. Fallback: a transformer's last `norm1` with token output when it runs after every 4-D
   output; otherwise the last module (in call order) whose output is 4-D with more than
   one position, (B, C, h, w) or, told apart by its shape, (B, h, w, C).

The check: one forward pass of a zero image of `image_size` (eval mode, no autograd) at
build time, in which the layer must run exactly once and give the shape its rule expects;
a model that cannot run on that image size fails here, with its own error. An ImageNet
network's last stage can be 1x1 at small sizes (ResNet's `layer4` at 32x32), which gives
constant, hence all-zero, maps: use a larger image size or an earlier `cam_layer`.
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import torch
from torch import Tensor, nn

NAMED_PREFIXES = ("torchvision", "timm")

Kind = Literal["tokens", "nhwc", "nchw", "auto"]  # the output layout a rule expects


@dataclass(frozen=True)
class TokenGrid:
    """How a transformer layer's output becomes a (B, C, h, w) map.

    Tokens (B, N, C), N = prefix + h * w: drop the `prefix` tokens, lay the rest out row by
    row on the (h, w) patch grid and put channels first, exactly pytorch-grad-cam's
    documented `reshape_transform` for ViT. `channels_last` (Swin): the output is already
    (B, h, w, C); only permute.
    """

    prefix: int
    grid: tuple[int, int]  # (h, w)
    channels_last: bool = False

    def reshape(self, t: Tensor) -> Tensor:
        """(B, N, C) tokens, or (B, h, w, C) when `channels_last` -> (B, C, h, w) (a view)."""
        if self.channels_last:
            if t.ndim != 4:
                raise ValueError(f"expected (B, h, w, C), got shape {tuple(t.shape)}")
            return t.permute(0, 3, 1, 2)
        h, w = self.grid
        if t.ndim != 3 or t.shape[1] != self.prefix + h * w:
            raise ValueError(
                f"expected tokens (B, {self.prefix + h * w}, C) ({self.prefix} prefix + "
                f"{h}x{w} grid), got shape {tuple(t.shape)}"
            )
        b, _, c = t.shape
        return t[:, self.prefix :, :].reshape(b, h, w, c).permute(0, 3, 1, 2)


@dataclass
class NamedNet:
    net: nn.Module
    cam_layer: str  # dotted path inside `net`
    tokens: TokenGrid | None  # None: the CAM layer's output is already (B, C, h, w)


def is_named(name: str) -> bool:
    """True for "torchvision:<arch>" and "timm:<arch>" (not for the registry's own names)."""
    prefix, sep, arch = name.partition(":")
    return bool(sep) and prefix in NAMED_PREFIXES and bool(arch)


def build_named(
    name: str, num_classes: int, image_size: int, cam_layer: str | None = None
) -> NamedNet:
    """The network `name` ("torchvision:<arch>" or "timm:<arch>") for `num_classes` classes
    and square `image_size` images, with its CAM layer: `cam_layer` (a path inside the
    network) or the default of the module docstring. Unknown names: ValueError with the
    closest known names."""
    if not is_named(name):
        forms = [f"{prefix}:<arch>" for prefix in NAMED_PREFIXES]
        raise ValueError(f"not a named model {name!r}; use {' or '.join(forms)}")
    source, _, arch = name.partition(":")
    build = _torchvision if source == "torchvision" else _timm
    net = build(arch, num_classes, image_size)
    seen = _probe(net, image_size, name)
    if cam_layer is not None:
        return _explicit(net, cam_layer, seen, name)
    for path, kind in _candidates(net, seen):
        found = _check(net, path, kind, seen)
        if found is not None:
            return found
    raise ValueError(f"found no CAM layer in {name!r}; name one (cam_layer)")


# -- building ----------------------------------------------------------------------------------
def _torchvision(arch: str, num_classes: int, image_size: int) -> nn.Module:
    import torchvision

    known: list[str] = torchvision.models.list_models(module=torchvision.models)
    if arch not in known:
        raise ValueError(_unknown("torchvision", arch, known))
    kwargs: dict[str, Any] = {}
    if arch.startswith("vit_"):
        kwargs["image_size"] = image_size
    if arch in ("googlenet", "inception_v3"):
        kwargs["aux_logits"] = False  # a plain (B, K) output in training mode too
    net: nn.Module = torchvision.models.get_model(
        arch, weights=None, num_classes=num_classes, **kwargs
    )
    return net


def _timm(arch: str, num_classes: int, image_size: int) -> nn.Module:
    import timm

    if not timm.is_model(arch):
        raise ValueError(_unknown("timm", arch.split(".")[0], timm.list_models()))
    try:  # ViT-like models take the image size (their position embeddings depend on it)
        net: nn.Module = timm.create_model(
            arch, pretrained=False, num_classes=num_classes, img_size=image_size
        )
    except TypeError as err:  # CNNs: "__init__() got an unexpected keyword argument 'img_size'"
        if "img_size" not in str(err):
            raise
        net = timm.create_model(arch, pretrained=False, num_classes=num_classes)
    return net


def _unknown(source: str, arch: str, known: Sequence[str]) -> str:
    close = difflib.get_close_matches(arch, known, n=5, cutoff=0.6)
    hint = f"did you mean one of {close}?" if close else f"see {source}'s list_models()"
    return f"unknown {source} model {arch!r}; {hint}"


# -- the probe ---------------------------------------------------------------------------------
@dataclass
class _Seen:
    shape: tuple[int, ...] | None  # None: the output is not a tensor
    calls: int
    order: int  # position of its last call among all module calls


def _probe(net: nn.Module, image_size: int, name: str) -> dict[str, _Seen]:
    """Every submodule's output shape, call count and call order on one zero image."""
    seen: dict[str, _Seen] = {}
    counter = [0]

    def recorder(path: str) -> Callable[[nn.Module, tuple[Any, ...], object], None]:
        def hook(module: nn.Module, inputs: tuple[Any, ...], output: object) -> None:
            shape = tuple(output.shape) if isinstance(output, Tensor) else None
            calls = seen[path].calls + 1 if path in seen else 1
            seen[path] = _Seen(shape, calls, counter[0])
            counter[0] += 1

        return hook

    modes = [(m, m.training) for m in net.modules()]
    handles = [m.register_forward_hook(recorder(p)) for p, m in net.named_modules() if p]
    try:
        net.eval()
        with torch.no_grad():
            net(torch.zeros(1, 3, image_size, image_size))
    except Exception as err:
        raise ValueError(f"{name} does not run on {image_size}x{image_size} images: {err}") from err
    finally:
        for handle in handles:
            handle.remove()
        for module, training in modes:
            module.training = training
    return seen


# -- the default layer -------------------------------------------------------------------------
def _candidates(net: nn.Module, seen: dict[str, _Seen]) -> list[tuple[str, Kind]]:
    """The rules of the module docstring, in order: (path, expected layout)."""
    import torchvision.models as tv

    out: list[tuple[str, Kind]] = []
    blocks = getattr(net, "blocks", None)
    if hasattr(net, "patch_embed") and _last(blocks) is not None:  # 1. timm ViT-like
        out.append((f"blocks.{_last_name(blocks)}.norm1", "tokens"))
    if isinstance(net, tv.VisionTransformer):  # 1. torchvision ViT
        layers = getattr(net.encoder, "layers", None)
        if _last(layers) is not None:
            out.append((f"encoder.layers.{_last_name(layers)}.ln_1", "tokens"))
    stage = _last(getattr(net, "layers", None))  # 2. timm Swin
    if stage is not None and _last(getattr(stage, "blocks", None)) is not None:
        layers_name = _last_name(getattr(net, "layers", None))
        out.append((f"layers.{layers_name}.blocks.{_last_name(stage.blocks)}.norm1", "nhwc"))
    features = getattr(net, "features", None)
    if isinstance(net, tv.SwinTransformer) and _last(_last(features)) is not None:
        last_stage = _last(features)  # 2. torchvision Swin
        out.append((f"features.{_last_name(features)}.{_last_name(last_stage)}.norm1", "nhwc"))
    if isinstance(getattr(net, "layer4", None), nn.Module):  # 3. ResNet family
        out.append(("layer4", "nchw"))
    if isinstance(features, nn.Sequential) and len(features) > 0:  # 4. torchvision CNNs
        children = list(features.named_children())
        if isinstance(children[-1][1], nn.MaxPool2d):  # VGG, AlexNet: the last ReLU (or conv)
            relus = [n for n, m in children if isinstance(m, nn.ReLU)]
            convs = [n for n, m in children if isinstance(m, nn.Conv2d)]
            if relus or convs:
                out.append((f"features.{(relus or convs)[-1]}", "nchw"))
        out.append(("features", "auto"))
    if isinstance(getattr(net, "conv_head", None), nn.Module) and isinstance(
        getattr(net, "bn2", None), nn.Module
    ):  # 5. timm EfficientNet, MobileNetV2
        out.append(("bn2", "nchw"))
    feature_info = getattr(net, "feature_info", None)  # 6. timm's last feature stage
    if isinstance(feature_info, list) and feature_info and isinstance(feature_info[-1], dict):
        module = feature_info[-1].get("module")
        if isinstance(module, str):
            out.append((module, "auto"))
    out.extend(_fallback(seen))  # 7.
    return out


def _fallback(seen: dict[str, _Seen]) -> list[tuple[str, Kind]]:
    once = {p: s for p, s in seen.items() if s.calls == 1 and s.shape is not None}
    maps = [p for p, s in once.items() if s.shape is not None and _positions(s.shape) > 1]
    norms = [
        p
        for p, s in once.items()
        if p.rsplit(".", 1)[-1] == "norm1" and s.shape is not None and len(s.shape) == 3
    ]
    last_map = max(maps, key=lambda p: once[p].order, default=None)
    last_norm = max(norms, key=lambda p: once[p].order, default=None)
    out: list[tuple[str, Kind]] = []
    if last_norm is not None and (last_map is None or once[last_norm].order > once[last_map].order):
        out.append((last_norm, "tokens"))
    if last_map is not None:
        out.append((last_map, "auto"))
    return out


def _positions(shape: tuple[int, ...]) -> int:
    """Number of spatial positions of a 4-D output (0 if it is not 4-D)."""
    if len(shape) != 4:
        return 0
    return shape[1] * shape[2] if _looks_channels_last(shape) else shape[2] * shape[3]


def _looks_channels_last(shape: tuple[int, ...]) -> bool:
    """(1, h, w, C) rather than (1, C, h, w) for a square image: h == w != C."""
    return len(shape) == 4 and shape[1] == shape[2] != shape[3]


def _last(container: object) -> nn.Module | None:
    if isinstance(container, nn.Sequential | nn.ModuleList) and len(container) > 0:
        last: nn.Module = container[-1]
        return last
    return None


def _last_name(container: object) -> str:
    assert isinstance(container, nn.Module)
    return list(container.named_children())[-1][0]


def _check(net: nn.Module, path: str, kind: Kind, seen: dict[str, _Seen]) -> NamedNet | None:
    """`net` with CAM layer `path` if the layer fits `kind` on the probe, else None."""
    s = seen.get(path)
    if s is None or s.calls != 1 or s.shape is None:
        return None
    shape = s.shape
    if kind == "auto":
        kind = "tokens" if len(shape) == 3 else "nhwc" if _looks_channels_last(shape) else "nchw"
    if kind == "tokens":
        tokens = _token_grid(net, shape) if len(shape) == 3 else None
        return None if tokens is None else NamedNet(net, path, tokens)
    if len(shape) != 4:
        return None
    if kind == "nhwc":
        return NamedNet(net, path, TokenGrid(0, (shape[1], shape[2]), channels_last=True))
    return NamedNet(net, path, None)


def _token_grid(net: nn.Module, shape: tuple[int, ...]) -> TokenGrid | None:
    """Prefix and grid for tokens (1, N, C): timm's `num_prefix_tokens` (default 1, the class
    token) and `patch_embed.grid_size`, torchvision's image_size // patch_size; a square grid
    after the prefix otherwise. A grid that leaves a different number of tokens over fixes
    the prefix (CaiT adds its class token after the blocks)."""
    n = shape[1]
    prefix = int(getattr(net, "num_prefix_tokens", 1))
    grid: tuple[int, int] | None = None
    patch_embed = getattr(net, "patch_embed", None)
    if patch_embed is not None and getattr(patch_embed, "grid_size", None) is not None:
        gh, gw = patch_embed.grid_size
        grid = (int(gh), int(gw))
    patch_size, image_size = getattr(net, "patch_size", None), getattr(net, "image_size", None)
    if grid is None and isinstance(patch_size, int) and isinstance(image_size, int):
        grid = (image_size // patch_size, image_size // patch_size)  # torchvision ViT
    if grid is None:
        side = math.isqrt(max(n - prefix, 0))
        if side == 0 or side * side != n - prefix:
            return None
        grid = (side, side)
    if n - prefix != grid[0] * grid[1]:
        prefix = n - grid[0] * grid[1]
        if prefix < 0:
            return None
    return TokenGrid(prefix=prefix, grid=grid)


def _explicit(net: nn.Module, path: str, seen: dict[str, _Seen], name: str) -> NamedNet:
    try:
        net.get_submodule(path)
    except AttributeError as err:
        raise ValueError(f"no layer {path!r} in {name!r}") from err
    found = _check(net, path, "auto", seen)
    if found is None:
        s = seen.get(path)
        why = (
            "did not run"
            if s is None
            else f"ran {s.calls} times"
            if s.calls != 1
            else f"gave shape {s.shape}, neither (B, N, C) tokens nor a 4-D map"
        )
        raise ValueError(f"layer {path!r} of {name!r} cannot be a CAM layer: it {why}")
    return found
