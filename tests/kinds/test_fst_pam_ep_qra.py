"""fst, pam, ep and qra (ml/kinds/<name>/step.py) against hand computations, and the
backdoor-connected path (ml/path.py) at its two ends."""

from __future__ import annotations

import copy
import math
from typing import Any

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from unlearnscope.config import PhaseConfig
from unlearnscope.ml.features import classifier_layer
from unlearnscope.ml.imageset import ImageSet
from unlearnscope.ml.kinds.ep.step import relabelled
from unlearnscope.ml.kinds.fst.step import cosine_lr
from unlearnscope.ml.kinds.pam.step import path_shift, stamp
from unlearnscope.ml.kinds.protocol import (
    FoundTrigger,
    PhaseContext,
    PhaseData,
    frozen_copy,
    sample,
    start_phase,
)
from unlearnscope.ml.kinds.qra import step as qra_step
from unlearnscope.ml.kinds.qra.settings import QraSettings
from unlearnscope.ml.kinds.settings import load_settings
from unlearnscope.ml.models.classifier import build_model
from unlearnscope.ml.path import path_curve

CLASSES = [str(i) for i in range(10)]


def _model() -> nn.Module:
    torch.manual_seed(0)
    return build_model("small_cnn", 10, (0.5,) * 3, (0.25,) * 3, width=4)


def _data() -> PhaseData:
    g = torch.Generator().manual_seed(0)
    imgs = torch.randint(0, 256, (40, 3, 16, 16), dtype=torch.uint8, generator=g)
    labels = torch.randint(0, 10, (40,), generator=g)
    forget = ImageSet(imgs[:8], torch.zeros(8, dtype=torch.long), CLASSES)
    clean = ImageSet(imgs[8:], labels[8:], CLASSES)
    return PhaseData(forget, clean, "none")


def _ctx(model: nn.Module, kind: str, data: PhaseData | None = None, **over: Any) -> PhaseContext:
    cfg = PhaseConfig.model_validate(
        {"kind": kind, "steps": 100, "lr": 0.05, "batch_size": 8, "settings": {}, **over}
    )
    return PhaseContext(
        model=model,
        cfg=cfg,
        settings=load_settings(kind, cfg.settings),
        data=data or _data(),
        ewc=None,
        gen=torch.Generator().manual_seed(1),
        device=torch.device("cpu"),
        phase_step=0,
    )


def _twin_gen(gen: torch.Generator) -> torch.Generator:
    twin = torch.Generator()
    twin.set_state(gen.get_state())
    return twin


# -- FST -----------------------------------------------------------------------------------
def test_fst_reinitialises_the_head_within_its_bound() -> None:
    model = _model()
    head = classifier_layer(model)
    before = head.weight.detach().clone()
    start_phase("fst", _ctx(model, "fst"))
    bound = 1 / math.sqrt(head.in_features)
    assert not torch.equal(head.weight, before)
    assert head.weight.abs().max() <= bound and head.bias is not None
    assert head.bias.abs().max() <= bound


def test_fst_step_is_sgd_on_ce_plus_alpha_alignment_then_the_norm_is_restored() -> None:
    alpha, lr = 0.5, 0.05
    model = _model()
    head = classifier_layer(model)
    original = head.weight.detach().clone()
    ctx = _ctx(model, "fst", momentum=0.0, lr=lr, settings={"alpha": alpha, "cosine": False})
    run = start_phase("fst", ctx)
    w = head.weight.detach().clone()
    # the hand computation on the same batch: grad CE + alpha * W0 (the gradient of
    # alpha * <W, W0>), one SGD step, then W rescaled to ||W0||
    twin = copy.deepcopy(model).train()
    x, y = sample(ctx.data.clean, 8, _twin_gen(ctx.gen), ctx.device)
    ce = F.cross_entropy(twin(x), y)
    (grad_ce,) = torch.autograd.grad(ce, classifier_layer(twin).weight)
    expected = w - lr * (grad_ce + alpha * original)
    expected = expected * original.norm() / expected.norm()
    out = run.step(ctx)
    assert torch.allclose(head.weight, expected, atol=1e-5)
    assert head.weight.norm().item() == pytest.approx(original.norm().item(), rel=1e-5)
    assert out.losses["alignment"] == pytest.approx((w * original).sum().item(), rel=1e-4)


def test_fst_cosine_schedule_starts_at_lr_and_ends_at_zero() -> None:
    assert cosine_lr(0.01, 0, 200) == pytest.approx(0.01)
    assert cosine_lr(0.01, 100, 200) == pytest.approx(0.005)
    assert cosine_lr(0.01, 200, 200) == pytest.approx(0.0, abs=1e-12)


# -- PAM -----------------------------------------------------------------------------------
def test_pam_shift_points_back_to_the_backdoored_model_with_length_rho() -> None:
    w = [torch.tensor([1.0, 2.0]), torch.tensor([[0.0]])]
    w0 = [torch.tensor([4.0, 6.0]), torch.tensor([[0.0]])]
    shift, distance = path_shift(w, w0, rho=0.5)
    assert distance == pytest.approx(5.0)
    assert torch.allclose(shift[0], torch.tensor([0.3, 0.4]))  # 0.5 * (3, 4) / 5
    zero, d0 = path_shift(w0, w0, rho=0.5)  # w = w0: no shift
    assert d0 == 0.0 and all(torch.equal(z, torch.zeros_like(z)) for z in zero)


def test_pam_step_takes_the_gradient_on_the_path_and_the_step_from_w() -> None:
    rho, lr = 0.5, 0.05
    model = _model()
    data = _data()
    data.teacher = frozen_copy(model)  # w0, the backdoored model
    with torch.no_grad():  # w: somewhere away from w0
        for p in model.parameters():
            p.add_(0.05 * torch.randn_like(p))
    ctx = _ctx(model, "pam", data, momentum=0.0, lr=lr, settings={"rho": rho})
    run = start_phase("pam", ctx)
    params = list(model.parameters())
    w = [p.detach().clone() for p in params]
    w0 = [p.detach() for p in data.teacher.parameters()]
    d = torch.cat([(a - b).flatten() for a, b in zip(w0, w, strict=True)])
    e = [(a - b) * rho / d.norm() for a, b in zip(w0, w, strict=True)]
    twin = copy.deepcopy(model)
    with torch.no_grad():
        for p, shift in zip(twin.parameters(), e, strict=True):
            p.add_(shift)
    twin.train()
    x, y = sample(ctx.data.clean, 8, _twin_gen(ctx.gen), ctx.device)
    grads = torch.autograd.grad(F.cross_entropy(twin(x), y), list(twin.parameters()))
    out = run.step(ctx)
    for p, w_i, g in zip(params, w, grads, strict=True):
        assert torch.allclose(p, w_i - lr * g, atol=1e-6)
    assert out.losses["distance"] == pytest.approx(d.norm().item(), rel=1e-5)


def test_pam_stamps_a_recovered_trigger_on_a_share_of_the_batch() -> None:
    mask = torch.zeros(4, 4)
    mask[0, 0] = 1.0
    found = FoundTrigger(mask, torch.ones(3, 4, 4), target=0)
    x = torch.zeros(2, 3, 4, 4)
    out = stamp(x, found)
    assert out[:, :, 0, 0].eq(1).all() and out[:, :, 1:, :].eq(0).all()


# -- EP ------------------------------------------------------------------------------------
def test_ep_refuses_without_the_true_classes_of_the_poisoned_samples() -> None:
    with pytest.raises(ValueError, match="oracle"):
        start_phase("ep", _ctx(_model(), "ep"))


def test_ep_trains_on_the_poisoned_samples_at_their_true_classes() -> None:
    data = _data()
    data.attack_samples = data.forget  # labelled as the target, 0
    data.attack_true_labels = torch.arange(8) % 10
    assert relabelled(data).labels.tolist() == (torch.arange(8) % 10).tolist()
    model = _model()
    before = [p.detach().clone() for p in model.parameters()]
    ctx = _ctx(model, "ep", data, settings={"poisoned_share": 0.5})
    out = start_phase("ep", ctx).step(ctx)
    assert math.isfinite(out.ce)
    assert any(not torch.equal(a, b) for a, b in zip(before, model.parameters(), strict=True))


# -- QRA -----------------------------------------------------------------------------------
SIZE = 8
TARGET = 0


def _stamp(x: torch.Tensor) -> torch.Tensor:
    out = x.clone()
    out[:, :, 6:, 6:] = 0.6
    return out


class DormantNet(nn.Module):
    """3 classes by the brightest colour channel; a backdoor reads the mean of the 2x2
    corner patch: target logit + k * softplus(20 (patch - theta)). The trigger sets the
    patch to 0.6: with theta 0.65 the backdoor is dormant (a purified-looking model), with
    theta 0.5 it fires (the model re-tuning wakes); k = 0 is a clean model."""

    def __init__(self, theta: float, k: float) -> None:
        super().__init__()
        self.theta, self.k = theta, k

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        logits = 10 * x.mean((2, 3))
        door = self.k * F.softplus(20 * (x[:, :, 6:, 6:].mean((1, 2, 3)) - self.theta))
        return logits + F.one_hot(torch.tensor(TARGET), 3) * door[:, None]


def _colour_images(n: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    y = torch.randint(0, 3, (n,), generator=g)
    x = torch.full((n, 3, SIZE, SIZE), 0.1)
    x[torch.arange(n), y] = 0.4
    x = (x + 0.05 * torch.rand(x.shape, generator=g)).clamp(0, 1)
    return x, y


def _qra_asr(
    model: nn.Module,
    awake: nn.Module,
    monkeypatch: pytest.MonkeyPatch,
    generator: str = "universal",
) -> float:
    """ASR on triggered non-target images with the perturbation qra finds against `model`
    when re-tuning would give `awake`."""
    classes = ["a", "b", "c"]
    x, y = _colour_images(200, 0)
    u8 = (x * 255).round().to(torch.uint8)
    keep = y != TARGET
    poisoned = ImageSet(
        (_stamp(x[keep][:100]) * 255).round().to(torch.uint8),
        torch.full((min(100, int(keep.sum())),), TARGET),
        classes,
    )
    data = PhaseData(ImageSet(u8[:0], y[:0], classes), ImageSet(u8, y, classes), "none")
    data.attack_samples, data.attack_target = poisoned, TARGET
    monkeypatch.setattr(qra_step, "retuned_copy", lambda *a, **k: awake)
    ctx = _ctx(model, "qra", data, batch_size=64, steps=60, settings={"generator": generator})
    run = start_phase("qra", ctx)
    for i in range(60):
        ctx.phase_step = i
        run.step(ctx)
    xt, yt = _colour_images(300, 1)
    xt = _stamp(xt[yt != TARGET])
    moved = run.perturb(xt)  # type: ignore[attr-defined]
    assert (moved - xt).abs().max() <= 16 / 255 + 1e-6  # within the budget
    with torch.no_grad():
        return 100 * (model(moved).argmax(1) == TARGET).float().mean().item()


@pytest.mark.parametrize("generator", ["universal", "per_image"])
def test_qra_wakes_a_dormant_backdoor_and_not_a_clean_model(
    monkeypatch: pytest.MonkeyPatch, generator: str
) -> None:
    dormant, awake = DormantNet(theta=0.65, k=8.0), DormantNet(theta=0.5, k=8.0)
    x, y = _colour_images(300, 1)
    with torch.no_grad():
        xt = _stamp(x[y != TARGET])
        assert (dormant(xt).argmax(1) == TARGET).float().mean() < 0.05  # dormant: ASR ~0
        assert (awake(xt).argmax(1) == TARGET).float().mean() > 0.95
    assert _qra_asr(dormant, awake, monkeypatch, generator) > 80.0
    clean = DormantNet(theta=0.65, k=0.0)
    assert _qra_asr(clean, clean, monkeypatch, generator) < 5.0


def test_qra_retuned_copy_learns_and_leaves_the_model_alone() -> None:
    model = _model()
    data = _data()
    data.attack_samples, data.attack_target = data.forget, 0
    before = [p.detach().clone() for p in model.parameters()]
    s = load_settings("qra", {"retune_steps": 3})
    assert isinstance(s, QraSettings)
    copy_ = qra_step.retuned_copy(
        model, data, s, 8, torch.Generator().manual_seed(0), torch.device("cpu")
    )
    assert all(torch.equal(a, b) for a, b in zip(before, model.parameters(), strict=True))
    assert any(not torch.equal(a, b) for a, b in zip(before, copy_.parameters(), strict=True))


# -- the path ------------------------------------------------------------------------------
def test_path_ends_are_the_two_models() -> None:
    start, end = _model(), _model()
    with torch.no_grad():
        for p in end.parameters():
            p.add_(0.3 * torch.randn_like(p))
    x = torch.rand(32, 3, 16, 16)
    y = torch.randint(0, 10, (32,))

    def measure(m: nn.Module) -> tuple[float | None, float]:
        with torch.no_grad():
            logits = m.eval()(x)
        return logits[:, 0].mean().item(), 100 * (logits.argmax(1) == y).float().mean().item()

    curve = path_curve(start, end, copy.deepcopy(start), measure, points=11)
    assert curve.alphas[0] == 0.0 and curve.alphas[-1] == 1.0 and len(curve.alphas) == 11
    assert (curve.asr[0], curve.ca[0]) == pytest.approx(measure(start), rel=1e-5)
    assert (curve.asr[-1], curve.ca[-1]) == pytest.approx(measure(end), rel=1e-5)
    middle = measure(end)  # (the scratch model is left at alpha 1)
    assert middle[0] == pytest.approx(curve.asr[-1], rel=1e-5)


# -- pathguard (ours) ------------------------------------------------------------------------
def test_pathguard_takes_the_recovery_gradient_at_a_random_point_toward_the_backdoored_model() -> (
    None
):
    import dataclasses

    from unlearnscope.ml.kinds.recovery.step import recovery_loss

    lr, back = 0.05, 0.5
    model = _model()
    data = _data()
    data.teacher = frozen_copy(model)  # w0
    with torch.no_grad():
        for p in model.parameters():
            p.add_(0.05 * torch.randn_like(p))
    ctx = _ctx(
        model, "pathguard", data, momentum=0.0, lr=lr, forget_weight=1.0, settings={"back": back}
    )
    run = start_phase("pathguard", ctx)
    w = [p.detach().clone() for p in model.parameters()]
    w0 = [p.detach() for p in data.teacher.parameters()]
    twin_gen = _twin_gen(ctx.gen)
    u = torch.rand((), generator=twin_gen).item() * back
    twin = copy.deepcopy(model)
    with torch.no_grad():
        for p, a, b in zip(twin.parameters(), w, w0, strict=True):
            p.copy_(a + u * (b - a))
    twin.train()
    objective, _ = recovery_loss(dataclasses.replace(ctx, model=twin, gen=twin_gen))
    grads = torch.autograd.grad(objective, list(twin.parameters()))
    out = run.step(ctx)
    assert out.losses["u"] == pytest.approx(u) and 0 <= u <= back
    for p, w_i, g in zip(model.parameters(), w, grads, strict=True):
        assert torch.allclose(p, w_i - lr * g, atol=1e-6)
