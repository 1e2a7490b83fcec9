"""One step of each of nad, sam, ibau, relearn: finite, and it changes what it should and
only that (ml/kinds/<name>/step.py, the step protocol of ml/kinds/protocol.py)."""

from __future__ import annotations

import math

import torch

from unlearnscope.config import AttackConfig, PhaseConfig
from unlearnscope.ml.attacks.triggers import make_trigger
from unlearnscope.ml.cam import make_cam
from unlearnscope.ml.imageset import ImageSet
from unlearnscope.ml.kinds.ibau.step import IbauRun, perturbation_picture
from unlearnscope.ml.kinds.nad.step import attention_distance, attention_map, nad_layers
from unlearnscope.ml.kinds.protocol import PhaseContext, PhaseData, frozen_copy, start_phase
from unlearnscope.ml.kinds.relearn.step import retuning_set
from unlearnscope.ml.kinds.settings import load_settings
from unlearnscope.ml.models.classifier import build_model, count_parameters

CLASSES = [str(i) for i in range(10)]


def _model(name: str = "small_cnn") -> torch.nn.Module:
    torch.manual_seed(0)
    return build_model(name, 10, (0.5,) * 3, (0.25,) * 3, width=4)


def _data(n_forget: int = 8) -> PhaseData:
    g = torch.Generator().manual_seed(0)
    imgs = torch.randint(0, 256, (40, 3, 16, 16), dtype=torch.uint8, generator=g)
    labels = torch.randint(0, 10, (40,), generator=g)
    forget = ImageSet(imgs[:n_forget], torch.zeros(n_forget, dtype=torch.long), CLASSES)
    clean = ImageSet(imgs[8:], labels[8:], CLASSES)
    return PhaseData(forget, clean, "flip")


def _ctx(
    model: torch.nn.Module, kind: str, step: int = 0, data: PhaseData | None = None, **over: object
) -> PhaseContext:
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
        phase_step=step,
    )


def _state(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def _moved(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> set[str]:
    return {k for k in a if not torch.equal(a[k], b[k])}


def _finite(model: torch.nn.Module) -> bool:
    return all(torch.isfinite(p).all() for p in model.parameters())


# -- NAD -----------------------------------------------------------------------------------
def test_attention_map_is_the_normalised_channel_sum_of_powers() -> None:
    a = torch.tensor([[[[1.0, -2.0]], [[0.0, 2.0]]]])  # (1, 2, 1, 2)
    am = attention_map(a, p=2)
    raw = torch.tensor([1.0, 8.0])
    torch.testing.assert_close(am.flatten(), raw / raw.norm(), atol=1e-5, rtol=0)
    assert attention_distance(a, 3 * a, p=2) < 1e-10  # scale-free: normalised maps


def test_nad_layers_are_the_last_three_stages_of_each_model() -> None:
    assert nad_layers(_model())[-1] == "net.features.stage3"
    for name in ("resnet18", "preact_resnet18"):
        with torch.device("meta"):
            m = build_model(name, 10, (0.5,) * 3, (0.25,) * 3)
        assert nad_layers(m) == ("net.layer2", "net.layer3", "net.layer4")


def test_nad_teacher_steps_leave_the_student_and_student_steps_move_it() -> None:
    model = _model()
    ctx = _ctx(model, "nad", settings={"teacher_steps": 2})
    run = start_phase("nad", ctx)
    before = _state(model)
    out = run.step(ctx)
    assert _moved(before, _state(model)) == set()  # the teacher learnt, the student did not
    assert set(out.losses) == {"teacher_ce"} and out.grad_norm == 0.0
    teacher_after_one = _state(run.teacher)  # type: ignore[attr-defined]
    assert _moved(before, teacher_after_one)
    out = run.step(_ctx(model, "nad", step=2, settings={"teacher_steps": 2}))
    assert set(out.losses) == {"ce", "attention"}
    assert out.losses["attention"] > 0 and math.isfinite(out.objective)
    moved = _moved(before, _state(model))
    assert any(k.endswith("weight") for k in moved) and _finite(model)
    # the teacher is frozen once the student trains
    assert not any(p.requires_grad for p in run.teacher.parameters())  # type: ignore[attr-defined]


# -- SAM -----------------------------------------------------------------------------------
def test_sam_with_a_vanishing_radius_is_a_plain_sgd_step() -> None:
    a, b = _model(), _model()
    settings = {"rho": 1e-9, "adaptive": False, "label_smoothing": 0.0}
    ctx = _ctx(a, "sam", settings=settings, momentum=0.0, clip_norm=None)
    out = start_phase("sam", ctx).step(ctx)
    # the same step by hand on b
    ctx_b = _ctx(b, "sam", settings=settings, momentum=0.0, clip_norm=None)
    from unlearnscope.ml.augment import augment_batch
    from unlearnscope.ml.kinds.protocol import sample

    x, y = sample(ctx_b.data.clean, 8, ctx_b.gen, ctx_b.device)
    x = augment_batch(x, "flip", ctx_b.gen)
    b.train()
    torch.nn.functional.cross_entropy(b(x), y).backward()
    with torch.no_grad():
        for p in b.parameters():
            assert p.grad is not None
            p.sub_(0.05 * p.grad)
    for (n, pa), pb in zip(a.named_parameters(), b.parameters(), strict=True):
        torch.testing.assert_close(pa, pb, atol=1e-5, rtol=1e-4, msg=n)
    assert math.isfinite(out.objective) and out.grad_norm > 0


def test_sam_gradient_is_taken_at_the_perturbed_weights() -> None:
    model = _model()
    ctx = _ctx(model, "sam", settings={"rho": 0.5, "adaptive": False, "label_smoothing": 0.0})
    before = _state(model)
    out = start_phase("sam", ctx).step(ctx)
    assert out.losses["ce_at_w_plus_e"] > out.losses["ce"]  # the ascent direction: worse
    assert _moved(before, _state(model)) and _finite(model)


# -- I-BAU ---------------------------------------------------------------------------------
def test_ibau_inner_steps_move_only_delta_and_outer_steps_only_the_weights() -> None:
    model = _model()
    settings = {"inner_steps": 2, "outer_steps": 1, "visual_every": 1, "norm_bound": 3.0}
    ctx = _ctx(model, "ibau", settings=settings)
    run = start_phase("ibau", ctx)
    assert isinstance(run, IbauRun)
    before = _state(model)
    out = run.step(ctx)
    assert _moved(before, _state(model)) == set()  # weights and BN statistics untouched
    assert run.delta.abs().sum() > 0 and out.grad_norm == 0.0
    assert out.visuals and out.visuals[0].name == "perturbation"
    assert out.visuals[0].image is not None and out.visuals[0].image.shape == (16, 16, 3)
    for step in (1,):
        run.step(_ctx(model, "ibau", step=step, settings=settings))
    assert torch.linalg.vector_norm(run.delta) <= 3.0 + 1e-5  # projected on the ball
    delta = run.delta.clone()
    out = run.step(_ctx(model, "ibau", step=2, settings=settings))  # outer
    assert torch.equal(run.delta, delta) and "outer_ce" in out.losses
    assert _moved(before, _state(model)) and _finite(model) and out.grad_norm > 0
    run.delta = torch.full_like(run.delta, 99.0)
    out = run.step(_ctx(model, "ibau", step=3, settings=settings))  # a new round: delta anew
    assert out.visuals[0].scalars["round"] == 2.0 and run.delta.abs().max() < 99.0


def test_ibau_hypergradient_with_k0_is_the_direct_gradient_plus_the_one_step_term() -> None:
    # K = 0: v = 0, so the update is the plain gradient of the outer loss in theta
    model, ref = _model(), _model()
    settings = {
        "inner_steps": 1,
        "outer_steps": 1,
        "fixed_point_iters": 0,
        "optimizer": "sgd",
        "perturbed_share": 1.0,
    }
    ctx = _ctx(model, "ibau", settings=settings, momentum=0.0, clip_norm=None)
    run = start_phase("ibau", ctx)
    assert isinstance(run, IbauRun)
    run.step(ctx)  # inner: delta
    delta = run.delta.clone()
    ctx2 = _ctx(model, "ibau", step=1, settings=settings, momentum=0.0, clip_norm=None)
    ctx2.gen = torch.Generator().manual_seed(5)
    run.step(ctx2)
    from unlearnscope.ml.kinds.protocol import sample

    g = torch.Generator().manual_seed(5)
    x, y = sample(ctx.data.clean, 8, g, ctx.device)
    torch.randperm(len(x), generator=g)
    ref.eval()
    torch.nn.functional.cross_entropy(ref(x + delta), y).backward()
    with torch.no_grad():
        for p in ref.parameters():
            assert p.grad is not None
            p.sub_(0.05 * p.grad)
    for pa, pb in zip(model.parameters(), ref.parameters(), strict=True):
        torch.testing.assert_close(pa, pb, atol=1e-5, rtol=1e-4)


def test_perturbation_picture_is_grey_at_zero() -> None:
    d = torch.zeros(3, 4, 4)
    d[0, 0, 0] = 2.0
    d[1, 1, 1] = -1.0
    pic = perturbation_picture(d)
    assert pic[0, 0, 0] == 1.0 and pic[1, 1, 1] == 0.25 and pic[2, 2, 2] == 0.5


# -- relearn -------------------------------------------------------------------------------
def test_retuning_set_mixes_forget_samples_and_clean_ones() -> None:
    data = _data()
    s = load_settings("relearn", {"retune_size": 20, "poisoned_fraction": 0.25})
    retune = retuning_set(data, s, torch.Generator().manual_seed(0))  # type: ignore[arg-type]
    assert len(retune) == 20
    forget = {bytes(img.numpy()) for img in data.forget.images}
    poisoned = [bytes(img.numpy()) in forget for img in retune.images]
    assert sum(poisoned) == 5


def test_retuning_uses_the_attackers_own_samples_not_a_detected_forget_set() -> None:
    """After a detection the forget set may hold clean false positives; the attacker
    re-poisons with the truly poisoned samples (PhaseData.attack_samples) all the same."""
    data = _data()
    g = torch.Generator().manual_seed(9)  # the attacker's own poisoned samples
    own_images = torch.randint(0, 256, (6, 3, 16, 16), dtype=torch.uint8, generator=g)
    own = ImageSet(own_images, torch.full((6,), 3), CLASSES)
    data.attack_samples = own
    s = load_settings("relearn", {"retune_size": 20, "poisoned_fraction": 0.25})
    retune = retuning_set(data, s, torch.Generator().manual_seed(0))  # type: ignore[arg-type]
    theirs = {bytes(img.numpy()) for img in own.images}
    flagged = {bytes(img.numpy()) for img in data.forget.images}
    picked = [bytes(img.numpy()) for img in retune.images]
    assert sum(p in theirs for p in picked) == 5 and not any(p in flagged for p in picked)


def test_retuning_without_a_forget_set_stamps_the_true_trigger_with_the_target() -> None:
    data = _data(n_forget=0)
    trigger = make_trigger(AttackConfig(settings={"trigger_size": 3}), 16)
    data.attack_trigger, data.attack_target = trigger, 7
    s = load_settings("relearn", {"retune_size": 40, "poisoned_fraction": 0.5})
    retune = retuning_set(data, s, torch.Generator().manual_seed(0))  # type: ignore[arg-type]
    stamped = trigger.apply(retune.images)
    is_poisoned = (stamped == retune.images).flatten(1).all(1)  # already carries it
    assert is_poisoned.sum() >= 20 and (retune.labels[is_poisoned] == 7).sum() >= 20


def test_relearn_step_moves_the_model() -> None:
    model = _model()
    ctx = _ctx(model, "relearn", settings={"retune_size": 16})
    before = _state(model)
    out = start_phase("relearn", ctx).step(ctx)
    assert _moved(before, _state(model)) and _finite(model) and "ce" in out.losses


# -- PreAct-ResNet18 -----------------------------------------------------------------------
def test_preact_resnet18_builds_runs_and_its_cam_layer_works() -> None:
    torch.manual_seed(0)
    model = build_model("preact_resnet18", 10, (0.5,) * 3, (0.25,) * 3).eval()
    assert model.cam_layer_name == "net.layer4"
    assert 11_000_000 < count_parameters(model) < 11_300_000  # BackdoorBench: 11.17M
    x = torch.rand(2, 3, 32, 32)
    assert model(x).shape == (2, 10)
    with make_cam("gradcam", model, model.cam_layer_name) as cam:
        maps = cam(x, torch.tensor([1, 2])).maps
    assert maps.shape == (2, 32, 32) and torch.isfinite(maps).all() and maps.amax() == 1.0
    assert frozen_copy(model) is not model
