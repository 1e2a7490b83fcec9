"""WaNet, SIG and input-aware triggers; the trigger region; cache keys of older attacks."""

from __future__ import annotations

import pytest
import torch

from unlearnscope.config import AttackConfig, MonitorConfig, RunConfig
from unlearnscope.ml.attacks.inputaware.trigger import InputAware
from unlearnscope.ml.attacks.poisoning import poison, poison_count
from unlearnscope.ml.attacks.sig.trigger import SIG
from unlearnscope.ml.attacks.triggers import make_trigger
from unlearnscope.ml.attacks.wanet.trigger import WaNet
from unlearnscope.ml.imageset import ImageSet
from unlearnscope.ml.preparation import backdoor_key
from unlearnscope.ml.region import RegionRule, change_map, region_rule, trigger_region

S = 32


def _images(n: int = 6, seed: int = 0) -> torch.Tensor:
    gen = torch.Generator().manual_seed(seed)
    return torch.randint(0, 256, (n, 3, S, S), generator=gen, dtype=torch.uint8)


def _dataset(n: int = 200, classes: int = 10) -> ImageSet:
    labels = torch.arange(n) % classes
    return ImageSet(_images(n), labels, [f"c{k}" for k in range(classes)])


def test_cache_keys_of_badnets_and_blended_configs_are_unchanged() -> None:
    """Pinned before WaNet/SIG/input-aware fields existed: cached models stay valid."""
    train = ImageSet(
        torch.zeros(10, 3, S, S, dtype=torch.uint8), torch.arange(10), [str(i) for i in range(10)]
    )
    assert backdoor_key(RunConfig(), train) == "2aa1085bba53e75e7d4b"
    blended = RunConfig.model_validate({"attack": {"kind": "blended", "alpha": 0.2}})
    assert backdoor_key(blended, train) == "9eafc5a2b9a9c282cb04"
    # a newer attack keys on its own fields: changing a BadNets field does not move it
    wanet = RunConfig.model_validate({"attack": {"kind": "wanet"}})
    moved = RunConfig.model_validate({"attack": {"kind": "wanet", "trigger_size": 5}})
    assert backdoor_key(wanet, train) == backdoor_key(moved, train)
    stronger = RunConfig.model_validate({"attack": {"kind": "wanet", "wanet_strength": 1.0}})
    assert backdoor_key(wanet, train) != backdoor_key(stronger, train)


@pytest.mark.parametrize("kind", ["wanet", "sig", "inputaware", "blended"])
def test_global_triggers_are_deterministic_and_leave_the_input_alone(kind: str) -> None:
    cfg = AttackConfig(kind=kind)  # type: ignore[arg-type]
    images = _images()
    copy = images.clone()
    a = make_trigger(cfg, S, seed=3).apply(images)
    b = make_trigger(cfg, S, seed=3).apply(images)
    assert torch.equal(images, copy)  # untouched
    assert torch.equal(a, b) and a.dtype == torch.uint8 and a.shape == images.shape
    assert not torch.equal(a, images)  # it changed something
    f = make_trigger(cfg, S, seed=3).apply(images.float() / 255)
    assert f.is_floating_point() and (f - a.float() / 255).abs().max() <= 1 / 255 + 1e-6


def test_wanet_warp_follows_the_authors_field_and_changes_with_the_seed() -> None:
    w = WaNet(S, k=4, strength=0.5, seed=1)
    assert w.grid.shape == (1, S, S, 2) and w.grid.abs().max() <= 1
    axis = torch.linspace(-1, 1, S)
    # the identity grid plus s * upsampled offsets / H: displacement at most a few pixels
    shift = (w.grid[0, :, :, 0] - axis[None, :]).abs().max() * (S - 1) / 2
    assert 0.05 < float(shift) < 3
    assert not torch.equal(w.grid, WaNet(S, seed=2).grid)
    # identity warp (tiny strength) keeps the image
    still = WaNet(S, strength=1e-6, seed=1).apply(_images())
    assert (still.int() - _images().int()).abs().max() <= 1


def test_wanet_poisoning_adds_noise_mode_images_with_their_labels() -> None:
    data = _dataset()
    trigger = WaNet(S, cross_ratio=2.0)
    out = poison(data, trigger, target=0, rate=0.1, seed=0)
    assert len(out.poisoned) == 20 and len(out.cross) == 40
    assert set(out.poisoned.tolist()).isdisjoint(out.cross.tolist())
    assert (out.data.labels[out.poisoned] == 0).all()
    assert torch.equal(out.data.labels[out.cross], data.labels[out.cross])  # labels kept
    assert not torch.equal(out.data.images[out.cross], data.images[out.cross])
    assert torch.equal(out.data.images[out.cross], trigger.cross(data.images[out.cross], 1))
    assert not torch.equal(out.data.images[out.cross], trigger.apply(data.images[out.cross]))
    untouched = torch.ones(len(data), dtype=torch.bool)
    untouched[out.poisoned] = untouched[out.cross] = False
    assert torch.equal(out.data.images[untouched], data.images[untouched])


def test_sig_is_the_papers_sinusoid_and_clean_label() -> None:
    sig = SIG(S, delta=20, frequency=6)
    grey = torch.full((1, 3, S, S), 128, dtype=torch.uint8)
    out = sig.apply(grey).int() - 128
    j = torch.arange(S, dtype=torch.float64)
    expected = (20 * torch.sin(2 * torch.pi * j * 6 / S)).round().int()
    assert torch.equal(out[0, 1, 5], expected) and torch.equal(out[0, :, 0], out[0, :, 17])
    data = _dataset()
    result = poison(data, sig, target=3, rate=0.05, seed=0)
    assert len(result.poisoned) == poison_count(len(data), 0.05) == 10
    assert (data.labels[result.poisoned] == 3).all()  # only target-class images
    assert torch.equal(result.data.labels, data.labels)  # labels unchanged
    # capped at the class size: 20 images of class 3
    assert len(poison(data, sig, target=3, rate=0.5, seed=0).poisoned) == 20


def test_input_aware_gives_each_image_its_own_trigger() -> None:
    trig = InputAware(S, seed=0)
    images = _images(4)
    out = trig.apply(images)
    d = change_map(images, out)
    assert not torch.allclose(d[0], d[1])  # sample-specific
    assert torch.equal(InputAware(S, seed=0).apply(images), out)
    assert not torch.equal(InputAware(S, seed=1).apply(images), out)


@pytest.mark.parametrize("kind", ["wanet", "sig", "inputaware", "blended"])
def test_the_top_region_is_where_the_trigger_changed_most(kind: str) -> None:
    trigger = make_trigger(AttackConfig(kind=kind), S)  # type: ignore[arg-type]
    rule = region_rule(MonitorConfig(), S, trigger)
    assert rule.mode == "top" and abs(rule.percent - 100 * 9 / 1024) < 1e-9
    clean = _images()
    triggered = trigger.apply(clean)
    region = trigger_region(trigger, clean, triggered, rule)
    assert region.shape == (6, S, S) and (region.flatten(1).sum(1) == 9).all()
    d = change_map(clean, triggered)
    for i in range(6):
        assert d[i][region[i]].min() >= d[i][~region[i]].max()
        assert d[i][region[i]].min() > 0  # the trigger changed these pixels


def test_threshold_region_and_the_patch_mask() -> None:
    sig = SIG(S, delta=20, frequency=6)
    clean = torch.full((2, 3, S, S), 100, dtype=torch.uint8)
    region = trigger_region(sig, clean, sig.apply(clean), RegionRule("threshold", threshold=0.2))
    d = change_map(clean, sig.apply(clean))
    assert torch.equal(region, d >= 0.2) and region.any()
    # nothing reaches the threshold: the single most changed pixel
    none = trigger_region(sig, clean, sig.apply(clean), RegionRule("threshold", threshold=3.0))
    assert (none.flatten(1).sum(1) == 1).all()
    badnets = make_trigger(AttackConfig(), S)
    rule = region_rule(MonitorConfig(region="threshold"), S, badnets)
    assert rule.mode == "mask"
    mask = trigger_region(badnets, clean, badnets.apply(clean), rule)
    assert badnets.mask is not None and torch.equal(mask[1], badnets.mask)


def test_attack_settings_are_checked_at_the_edge_with_the_field_named() -> None:
    from pydantic import ValidationError

    from unlearnscope.config import describe_errors

    with pytest.raises(ValidationError) as err:
        RunConfig.model_validate({"attack": {"kind": "wanet", "wanet_grid": 40}})
    assert "attack.settings.grid=40 is finer than the image" in str(err.value)
    with pytest.raises(ValidationError) as err:
        RunConfig.model_validate({"attack": {"kind": "sig", "sig_delta": 0}})
    assert describe_errors(err.value.errors())[0].startswith("attack.settings.delta:")
    with pytest.raises(ValidationError) as err:
        RunConfig.model_validate({"attack": {"kind": "trojan"}})
    assert "attack.kind" in describe_errors(err.value.errors())[0]
    with pytest.raises(ValidationError) as err:
        RunConfig.model_validate({"monitor": {"region_percent": 0}})
    assert describe_errors(err.value.errors())[0].startswith("monitor.region_percent:")
