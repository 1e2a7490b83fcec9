"""torchvision and timm architectures by name, and our CAM on a ViT's tokens."""

from __future__ import annotations

import copy
from typing import Any

import numpy as np
import pytest
import pytorch_grad_cam.eigen_cam as pgc_eigen
import torch
from pytorch_grad_cam.utils.model_targets import ClassifierOutputTarget
from pytorch_grad_cam.utils.svd_on_activations import get_2d_projection_with_sign_correction
from test_cam import THEIRS  # pytorch-grad-cam's class of each of our methods

from unlearnscope.ml.cam import CAM_METHODS, make_cam, normalise_maps
from unlearnscope.ml.models.classifier import build_model, build_named_classifier, get_layer
from unlearnscope.ml.models.named import TokenGrid, build_named, is_named

MEAN, STD = (0.49, 0.48, 0.45), (0.25, 0.24, 0.26)
SIZE = 64  # ResNet-18's layer4 is 2x2 here (1x1, a constant map, at 32); ViT-16: a 4x4 grid
VIT = "timm:vit_tiny_patch16_224"


def _model(name: str, seed: int = 0) -> Any:  # Any: tests reach into its layers
    torch.manual_seed(seed)
    return build_named_classifier(name, 10, MEAN, STD, SIZE).eval()


def _images(n: int = 2, seed: int = 1) -> torch.Tensor:
    return torch.rand(n, 3, SIZE, SIZE, generator=torch.Generator().manual_seed(seed))


def vit_reshape_transform(tensor: torch.Tensor, height: int = 4, width: int = 4) -> torch.Tensor:
    """pytorch-grad-cam's documented reshape_transform for ViT (tutorials/vit_example.py),
    at our 4x4 grid."""
    result = tensor[:, 1:, :].reshape(tensor.size(0), height, width, tensor.size(2))
    result = result.transpose(2, 3).transpose(1, 2)
    return result


@pytest.mark.parametrize(
    ("name", "layer", "tokens"),
    [
        ("torchvision:resnet18", "net.layer4", None),
        ("timm:resnet18", "net.layer4", None),
        (VIT, "net.blocks.11.norm1", TokenGrid(prefix=1, grid=(4, 4))),
    ],
)
def test_builds_runs_and_gives_cams(name: str, layer: str, tokens: TokenGrid | None) -> None:
    model, x = _model(name), _images()
    assert model.cam_layer_name == layer
    # bound methods compare their instances by identity: compare the TokenGrid itself
    assert getattr(model.cam_reshape, "__self__", None) == tokens
    with torch.no_grad():
        assert model(x).shape == (2, 10)
    with make_cam("gradcam", model) as cam:
        maps = cam(x).maps
    assert maps.shape == (2, SIZE, SIZE)
    assert bool(torch.isfinite(maps).all())
    assert maps.amin() >= 0 and maps.amax() <= 1
    assert [m.amax().item() for m in maps] == [1.0, 1.0]  # real maps, none all zero


@pytest.mark.parametrize("method", CAM_METHODS)
def test_vit_matches_pytorch_grad_cam(method: str, monkeypatch: pytest.MonkeyPatch) -> None:
    # As in test_cam.py, their EigenCAM gets the sign correction ours applies.
    monkeypatch.setattr(pgc_eigen, "get_2d_projection", get_2d_projection_with_sign_correction)
    model, x = _model(VIT), _images(n=4, seed=2)
    classes = torch.tensor([0, 3, 7, 9])
    with make_cam(method, model) as cam:
        ours = cam(x, classes).maps
    assert [m.amax().item() for m in ours] == [1.0] * 4

    ref = copy.deepcopy(model)  # they back-propagate into the parameters
    targets = [ClassifierOutputTarget(int(c)) for c in classes]
    layer = get_layer(ref, model.cam_layer_name)
    with THEIRS[method](ref, [layer], reshape_transform=vit_reshape_transform) as theirs:
        full = theirs(x, targets)  # ReLU, min-max, cv2.resize to 64x64, min-max again
        # The same maps at the token grid: their scale_cam_image resizes to the "target
        # size", here the grid itself, where cv2.resize copies. Min-max normalisation is
        # invariant to the positive affine map their first scaling applies and commutes
        # with bilinear upsampling, so upsampling this with our own normalise_maps (ReLU
        # is a no-op on it) must give our maps up to float rounding: an exact comparison
        # that does not rest on cv2.resize and F.interpolate doing the same arithmetic.
        monkeypatch.setattr(theirs, "get_target_width_height", lambda _: (4, 4))
        grid = theirs(x, targets)
    assert grid.shape == (4, 4, 4)
    upsampled = normalise_maps(torch.from_numpy(grid), (SIZE, SIZE))
    np.testing.assert_allclose(ours.numpy(), upsampled.numpy(), atol=1e-4, rtol=0)
    # Their own full-size maps too: cv2's INTER_LINEAR on float32 is the same half-pixel
    # bilinear as F.interpolate(align_corners=False) (measured difference ~1e-6).
    np.testing.assert_allclose(ours.numpy(), full, atol=1e-4, rtol=0)


def test_token_grid_is_their_reshape_transform_and_swin_only_permutes() -> None:
    t = torch.randn(2, 17, 8)
    torch.testing.assert_close(TokenGrid(1, (4, 4)).reshape(t), vit_reshape_transform(t))
    two = TokenGrid(2, (3, 5)).reshape(torch.randn(2, 17, 8))
    assert two.shape == (2, 8, 3, 5)
    nhwc = torch.randn(2, 3, 3, 8)
    torch.testing.assert_close(
        TokenGrid(0, (3, 3), channels_last=True).reshape(nhwc), nhwc.permute(0, 3, 1, 2)
    )
    with pytest.raises(ValueError, match=r"\(B, 17, C\)"):
        TokenGrid(1, (4, 4)).reshape(torch.randn(2, 16, 8))


def test_explicit_cam_layer_decides_the_reshape() -> None:
    tokens = build_named_classifier(VIT, 10, MEAN, STD, SIZE, cam_layer="net.blocks.5.norm1")
    assert tokens.cam_layer_name == "net.blocks.5.norm1" and tokens.cam_reshape is not None
    conv = build_named_classifier(VIT, 10, MEAN, STD, SIZE, cam_layer="patch_embed.proj")
    assert conv.cam_layer_name == "net.patch_embed.proj" and conv.cam_reshape is None
    maps = make_cam("gradcam", conv)(_images()).maps
    assert maps.shape == (2, SIZE, SIZE) and bool(torch.isfinite(maps).all())
    with pytest.raises(ValueError, match="no layer 'nope'"):
        build_named(VIT, 10, SIZE, cam_layer="nope")


def test_names_and_suggestions() -> None:
    assert is_named("torchvision:resnet50") and is_named(VIT)
    assert not is_named("resnet18") and not is_named("timm:") and not is_named("keras:vgg16")
    with pytest.raises(ValueError, match=r"unknown torchvision model 'resnet5'.*'resnet50'"):
        build_named("torchvision:resnet5", 10, SIZE)
    with pytest.raises(ValueError, match=r"unknown timm model 'vit_tiny_patch16'.*'vit_tiny_"):
        build_named("timm:vit_tiny_patch16", 10, SIZE)
    with pytest.raises(ValueError, match="not a named model"):
        build_named("keras:vgg16", 10, SIZE)


def test_registry_models_are_unchanged() -> None:
    model = build_model("resnet18", 10, MEAN, STD)
    assert model.cam_layer_name == "net.layer4" and model.cam_reshape is None
