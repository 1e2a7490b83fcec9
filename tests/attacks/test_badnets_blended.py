from __future__ import annotations

import pytest
import torch

from unlearnscope.config import AttackConfig
from unlearnscope.ml.attacks.badnets.trigger import BadNets
from unlearnscope.ml.attacks.blended.trigger import Blended
from unlearnscope.ml.attacks.poisoning import poison, triggered_non_target
from unlearnscope.ml.attacks.triggers import make_trigger
from unlearnscope.ml.imageset import ImageSet

S = 32
CHECKER_3 = torch.tensor([[255, 0, 255], [0, 255, 0], [255, 0, 255]], dtype=torch.uint8)


def _images(n: int = 4, seed: int = 0) -> torch.Tensor:
    gen = torch.Generator().manual_seed(seed)
    return torch.randint(0, 256, (n, 3, S, S), generator=gen, dtype=torch.uint8)


def _dataset(n: int = 200, classes: int = 10) -> ImageSet:
    labels = torch.arange(n) % classes
    return ImageSet(_images(n), labels, [f"c{k}" for k in range(classes)])


@pytest.mark.parametrize(
    ("position", "x0", "y0"),
    [("bottom_right", 28, 28), ("bottom_left", 1, 28), ("top_right", 28, 1), ("top_left", 1, 1)],
)
def test_badnets_stamps_a_checkerboard_at_each_corner(position: str, x0: int, y0: int) -> None:
    trigger = make_trigger(AttackConfig(settings={"position": position}), S)  # 3x3, margin 1
    images = _images()
    out = trigger.apply(images)
    assert trigger.box == (x0, y0, x0 + 3, y0 + 3)
    assert torch.equal(out[:, :, y0 : y0 + 3, x0 : x0 + 3], CHECKER_3.expand(4, 3, 3, 3))
    assert trigger.mask is not None
    outside = ~trigger.mask
    assert torch.equal(out[:, :, outside], images[:, :, outside])  # nothing else changes


def test_badnets_at_xy_with_solid_pattern_and_margin() -> None:
    trigger = make_trigger(
        AttackConfig(
            settings={"position": "xy", "x": 5, "y": 9, "trigger_size": 4, "pattern": "solid"}
        ),
        S,
    )
    out = trigger.apply(torch.zeros(2, 3, S, S, dtype=torch.uint8))
    assert trigger.box == (5, 9, 9, 13)
    assert out.sum() == 2 * 3 * 16 * 255 and (out[:, :, 9:13, 5:9] == 255).all()
    far = make_trigger(AttackConfig(settings={"trigger_size": 5, "margin": 3}), S)
    assert far.box == (24, 24, 29, 29)


def test_mask_matches_the_box_and_where_the_pattern_lands() -> None:
    trigger = make_trigger(
        AttackConfig(settings={"trigger_size": 4, "position": "top_right", "margin": 2}), S
    )
    assert trigger.box is not None and trigger.mask is not None
    x0, y0, x1, y1 = trigger.box
    assert trigger.mask.shape == (S, S) and trigger.mask.dtype == torch.bool
    assert trigger.mask.sum() == 16 and trigger.mask[y0:y1, x0:x1].all()
    # Stamping a white and a black image changes exactly the masked pixels.
    white = torch.full((1, 3, S, S), 255, dtype=torch.uint8)
    black = torch.zeros(1, 3, S, S, dtype=torch.uint8)
    changed = (trigger.apply(white) != white).any(1)[0] | (trigger.apply(black) != black).any(1)[0]
    assert torch.equal(changed, trigger.mask)


def test_random_pattern_is_fixed_by_its_seed() -> None:
    def patch(seed: int) -> torch.Tensor:
        cfg = AttackConfig(settings={"pattern": "random", "trigger_size": 5, "pattern_seed": seed})
        return make_trigger(cfg, S).apply(torch.zeros(1, 3, S, S, dtype=torch.uint8))

    assert torch.equal(patch(3), patch(3))
    assert not torch.equal(patch(3), patch(4))
    assert patch(3).unique().numel() > 2  # RGB values, not just black and white


@pytest.mark.parametrize("kind", ["badnets", "blended"])
def test_uint8_and_float_paths_agree_and_input_is_untouched(kind: str) -> None:
    settings = {"pattern": "random"} if kind == "badnets" else {}
    trigger = make_trigger(AttackConfig(kind=kind, settings=settings), S)
    images = _images()
    before = images.clone()
    stamped_u8 = trigger.apply(images)
    stamped_f = trigger.apply(images.float() / 255)
    assert stamped_u8.dtype == torch.uint8 and stamped_f.dtype == torch.float32
    assert torch.equal(images, before)
    if kind == "badnets":  # exact replacement: identical values
        assert torch.equal(stamped_u8.float() / 255, stamped_f)
    else:  # blending is rounded to the nearest uint8 level
        assert ((stamped_u8.float() - stamped_f * 255).abs() <= 0.5 + 1e-3).all()


def test_blended_follows_its_formula_and_has_no_mask() -> None:
    trigger = make_trigger(
        AttackConfig(kind="blended", settings={"alpha": 0.2, "pattern_seed": 9}), S
    )
    assert isinstance(trigger, Blended) and trigger.mask is None and trigger.box is None
    x = torch.rand(3, 3, S, S)
    pattern = trigger.apply(torch.zeros(1, 3, S, S))[0] / 0.2  # alpha * p on a black image
    assert torch.allclose(trigger.apply(x), 0.8 * x + 0.2 * pattern, atol=1e-6)
    assert pattern.std() > 0.2  # a random image, not a flat colour


def test_trigger_that_does_not_fit_is_rejected() -> None:
    with pytest.raises(ValueError, match="does not fit"):
        BadNets(S, size=4, position="xy", x=30, y=0)
    with pytest.raises(ValueError, match="made for 32x32"):
        BadNets(S).apply(torch.zeros(1, 3, 16, 16))


def test_poison_rate_targets_and_labels() -> None:
    train = _dataset(200)
    trigger = make_trigger(AttackConfig(), S)
    result = poison(train, trigger, target=3, rate=0.1, seed=0)
    idx = result.poisoned
    assert idx.dtype == torch.int64 and len(idx) == 20  # 10% of the whole training set
    assert len(idx.unique()) == 20
    assert (train.labels[idx] != 3).all()  # only non-target images are poisoned
    assert (result.data.labels[idx] == 3).all()
    assert torch.equal(result.data.images[idx], trigger.apply(train.images[idx]))
    rest = torch.ones(200, dtype=torch.bool)
    rest[idx] = False
    assert torch.equal(result.data.images[rest], train.images[rest])
    assert torch.equal(result.data.labels[rest], train.labels[rest])
    assert torch.equal(train.labels, torch.arange(200) % 10)  # the input set is untouched


def test_poison_is_deterministic_from_the_seed() -> None:
    train, trigger = _dataset(300), make_trigger(AttackConfig(), S)
    a = poison(train, trigger, 0, 0.1, seed=1)
    b = poison(train, trigger, 0, 0.1, seed=1)
    c = poison(train, trigger, 0, 0.1, seed=2)
    assert torch.equal(a.poisoned, b.poisoned) and a.data.fingerprint() == b.data.fingerprint()
    assert not torch.equal(a.poisoned, c.poisoned)


def test_triggered_non_target_keeps_true_labels_of_other_classes() -> None:
    test = _dataset(50, classes=5)
    trigger = make_trigger(AttackConfig(), S)
    asr_set = triggered_non_target(test, trigger, target=2)
    keep = test.labels != 2
    assert len(asr_set) == 40 and (asr_set.labels != 2).all()
    assert torch.equal(asr_set.labels, test.labels[keep])
    assert torch.equal(asr_set.images, trigger.apply(test.images[keep]))
