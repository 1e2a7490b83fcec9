"""Our batched CAM methods against pytorch-grad-cam, and the model left as it was found."""

from __future__ import annotations

import copy
from typing import Any

import numpy as np
import pytest
import pytorch_grad_cam as pgc
import pytorch_grad_cam.eigen_cam as pgc_eigen
import torch
from pytorch_grad_cam.utils.model_targets import ClassifierOutputTarget
from pytorch_grad_cam.utils.svd_on_activations import (
    get_2d_projection,
    get_2d_projection_with_sign_correction,
)
from torch import nn

from unlearnscope.config import CAM_METHODS as CONFIG_CAM_METHODS
from unlearnscope.ml.cam import CAM_METHODS, EigenCAM, make_cam, normalise_maps
from unlearnscope.ml.models.classifier import build_model, get_layer

THEIRS = {
    "gradcam": pgc.GradCAM,
    "gradcam++": pgc.GradCAMPlusPlus,
    "xgradcam": pgc.XGradCAM,
    "layercam": pgc.LayerCAM,
    "hirescam": pgc.HiResCAM,
    "eigencam": pgc.EigenCAM,
}
MEAN, STD = (0.49, 0.48, 0.45), (0.25, 0.24, 0.26)


def _model(name: str, width: int = 16, seed: int = 0) -> Any:  # Any: tests reach into its layers
    torch.manual_seed(seed)
    return build_model(name, 10, MEAN, STD, width=width).eval()


def _images(n: int = 4, h: int = 32, w: int = 32, seed: int = 1) -> torch.Tensor:
    return torch.rand(n, 3, h, w, generator=torch.Generator().manual_seed(seed))


def _theirs(method: str, model: Any, x: torch.Tensor, classes: torch.Tensor) -> np.ndarray:
    targets = [ClassifierOutputTarget(int(c)) for c in classes]
    ref_model = copy.deepcopy(model)  # they back-propagate into the parameters
    with THEIRS[method](ref_model, [get_layer(ref_model, model.cam_layer_name)]) as cam:
        return cam(x, targets)  # (B, H, W) float32


@pytest.fixture
def sign_corrected_eigencam(monkeypatch: pytest.MonkeyPatch) -> None:
    # Documented deviation: our EigenCAM fixes the SVD's arbitrary sign (largest-magnitude
    # value positive); their EigenCAM keeps numpy's sign. Compare with their own
    # sign-corrected projection (the one their SegEigenCAM uses).
    monkeypatch.setattr(pgc_eigen, "get_2d_projection", get_2d_projection_with_sign_correction)


def test_method_names_match_the_run_config() -> None:
    assert CAM_METHODS == CONFIG_CAM_METHODS == tuple(THEIRS)


@pytest.mark.usefixtures("sign_corrected_eigencam")
@pytest.mark.parametrize("method", CAM_METHODS)
def test_matches_pytorch_grad_cam_on_small_cnn(method: str) -> None:
    model, x = _model("small_cnn"), _images()
    classes = torch.tensor([0, 3, 7, 9])
    with make_cam(method, model, model.cam_layer_name) as cam:
        ours = cam(x, classes).maps
    theirs = _theirs(method, model, x, classes)
    assert ours.shape == (4, 32, 32)
    assert ours.amax().item() == 1.0  # a real map, not an all-zero one
    np.testing.assert_allclose(ours.numpy(), theirs, atol=1e-3, rtol=0)


@pytest.mark.usefixtures("sign_corrected_eigencam")
@pytest.mark.parametrize("method", ["gradcam", "gradcam++", "layercam", "eigencam"])
def test_matches_pytorch_grad_cam_on_resnet18(method: str) -> None:
    model, x = _model("resnet18"), _images(seed=2)
    classes = torch.tensor([1, 2, 5, 8])
    with make_cam(method, model) as cam:
        ours = cam(x, classes).maps
    np.testing.assert_allclose(ours.numpy(), _theirs(method, model, x, classes), atol=1e-3)


def test_non_square_input_keeps_height_and_width() -> None:
    model, x = _model("small_cnn"), _images(h=32, w=24)
    classes = torch.tensor([2, 2, 4, 4])
    with make_cam("gradcam", model) as cam:
        ours = cam(x, classes).maps
    assert ours.shape == (4, 32, 24)
    np.testing.assert_allclose(ours.numpy(), _theirs("gradcam", model, x, classes), atol=1e-3)


@pytest.mark.parametrize("channels", [8, 32])  # fewer / more channels than positions
def test_eigencam_is_their_projection_up_to_sign(channels: int) -> None:
    acts = torch.randn(3, channels, 4, 4, generator=torch.Generator().manual_seed(3))
    ours = EigenCAM(nn.Identity(), nn.Identity()).combine(acts, None).numpy()
    theirs = get_2d_projection(acts.numpy())
    for o, t in zip(ours, theirs, strict=True):
        sign = np.sign((o * t).sum())
        np.testing.assert_allclose(o, sign * t, atol=1e-4)
        assert abs(o.max()) >= abs(o.min())  # our sign convention


def test_predicted_class_by_default_and_logits_from_the_same_pass() -> None:
    model, x = _model("small_cnn"), _images()
    with torch.no_grad():
        expected_logits = model(x)
    with make_cam("gradcam", model) as cam:
        res = cam(x)
    torch.testing.assert_close(res.logits, expected_logits)
    assert not res.logits.requires_grad and not res.maps.requires_grad
    assert torch.equal(res.classes, expected_logits.argmax(1))


def test_given_classes_change_the_map_and_multi_equals_single_calls() -> None:
    model, x = _model("small_cnn"), _images()
    a, b = torch.tensor([0, 1, 2, 3]), torch.tensor([9, 8, 7, 6])
    with make_cam("gradcam", model) as cam:
        multi = cam.multi(x, [a, None, b])
        singles = [cam(x, a), cam(x), cam(x, b)]
    for m, s in zip(multi, singles, strict=True):
        torch.testing.assert_close(m.maps, s.maps)
        assert torch.equal(m.classes, s.classes)
    assert torch.equal(multi[0].classes, a)
    assert (multi[0].maps - multi[2].maps).abs().amax() > 0.1  # class c matters


@pytest.mark.parametrize("method", CAM_METHODS)
def test_maps_are_normalised_per_image(method: str) -> None:
    model, x = _model("small_cnn"), _images(n=3)
    with make_cam(method, model) as cam:
        maps = cam(x).maps
    assert maps.shape == (3, 32, 32) and maps.dtype == torch.float32
    assert maps.amin() >= 0 and maps.amax() <= 1
    for m in maps:  # each map reaches 0 and 1, or is all zero
        assert m.amin() == 0 and m.amax() in (0.0, 1.0)


def test_constant_maps_become_zero_and_upsampling_is_bilinear() -> None:
    raw = torch.stack([torch.zeros(2, 2), torch.full((2, 2), 3.0), -torch.ones(2, 2)])
    assert torch.equal(normalise_maps(raw, (4, 4)), torch.zeros(3, 4, 4))
    ramp = normalise_maps(torch.tensor([[[0.0, 1.0]]]), (1, 4))  # align_corners=False
    torch.testing.assert_close(ramp, torch.tensor([[[0.0, 0.25, 0.75, 1.0]]]))


def _hook_count(model: nn.Module) -> int:
    return sum(
        len(m._forward_hooks) + len(m._forward_pre_hooks) + len(m._backward_hooks)
        for m in model.modules()
    )


@pytest.mark.parametrize("method", ["gradcam", "eigencam"])
def test_training_state_is_left_alone(method: str) -> None:
    model = _model("small_cnn").train()
    params = list(model.parameters())
    params[0].requires_grad_(False)  # a frozen layer stays frozen
    for p in params[len(params) // 2 :]:
        p.grad = torch.randn_like(p)  # half the parameters carry a pending gradient
    grads_before = [None if p.grad is None else p.grad.clone() for p in params]
    bn = model.net.features.stage1[0][1]
    bn.eval()  # a mixed train/eval state must come back exactly
    stats_before = bn.running_mean.clone(), model.net.features.stage3[1][1].running_var.clone()
    x = _images()
    x_before = x.clone()

    with make_cam(method, model) as cam:
        cam(x, torch.tensor([0, 1, 2, 3]))
        assert _hook_count(model) == 0  # hooks only live during our forward pass

    for p, g in zip(params, grads_before, strict=True):
        assert (p.grad is None) if g is None else torch.equal(p.grad, g)
    assert [p.requires_grad for p in params] == [False] + [True] * (len(params) - 1)
    assert model.training and not bn.training
    assert all(m.training for m in model.modules() if m is not bn)
    assert torch.equal(bn.running_mean, stats_before[0])  # eval mode inside: no BN updates
    assert torch.equal(model.net.features.stage3[1][1].running_var, stats_before[1])
    assert torch.equal(x, x_before) and not x.requires_grad
    assert _hook_count(model) == 0 and torch.is_grad_enabled()


def test_state_is_restored_when_the_forward_pass_fails() -> None:
    model = _model("small_cnn").train()
    with pytest.raises(RuntimeError), make_cam("gradcam", model) as cam:
        cam(torch.rand(2, 4, 32, 32))  # four channels: Normalize cannot broadcast
    assert _hook_count(model) == 0
    assert all(m.training for m in model.modules())
    assert torch.is_grad_enabled()


def test_works_inside_the_callers_no_grad_and_inference_mode() -> None:
    model, x = _model("small_cnn"), _images()
    with make_cam("gradcam", model) as cam:
        expected = cam(x).maps
        with torch.no_grad():
            torch.testing.assert_close(cam(x).maps, expected)
        with torch.inference_mode():
            torch.testing.assert_close(cam(x).maps, expected)


def test_layer_followed_by_an_in_place_relu() -> None:
    # The last BatchNorm of the small CNN feeds a ReLU(inplace=True); the captured
    # activations must stay the BatchNorm output, and autograd must not complain.
    model, x = _model("small_cnn"), _images()
    bn_path = "net.features.stage3.1.1"
    with make_cam("hirescam", model, bn_path) as cam:
        res = cam(x, torch.tensor([0, 1, 2, 3]))
    torch.testing.assert_close(res.logits, model(x).detach())
    # Reference by hand: split the network at the BatchNorm.
    feats = model.net.features
    with torch.no_grad():
        block = feats.stage3[0](feats[:-1](model.norm(x)))  # up to the last conv block
        head_in = feats.stage3[1][1](feats.stage3[1][0](block))  # its conv and BatchNorm
    acts = head_in.clone().requires_grad_(True)
    logits = model.net.fc(torch.flatten(model.net.pool(torch.relu(acts)), 1))
    (g,) = torch.autograd.grad(logits.gather(1, torch.tensor([[0], [1], [2], [3]])).sum(), acts)
    expected = normalise_maps((g * acts).sum(1).detach(), (32, 32))
    torch.testing.assert_close(res.maps, expected)


def test_bad_arguments_say_what_is_wrong() -> None:
    model, x = _model("small_cnn"), _images()
    with pytest.raises(ValueError, match="unknown CAM method"):
        make_cam("scorecam", model)
    with pytest.raises(ValueError, match="no layer"):
        make_cam("gradcam", model, "net.nope")
    cam = make_cam("gradcam", model)
    with pytest.raises(ValueError, match=r"classes must lie in \[0, 9\]"):
        cam(x, torch.tensor([0, 1, 2, 10]))
    with pytest.raises(ValueError, match=r"shape \(4,\)"):
        cam(x, torch.tensor([0, 1]))
    with pytest.raises(RuntimeError, match="did not run"):
        make_cam("gradcam", model, nn.Conv2d(3, 3, 1))(x)
