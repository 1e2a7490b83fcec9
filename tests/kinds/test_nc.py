"""Known answers for Neural Cleanse: a planted patch backdoor is recovered at its place and
its class flagged; the anomaly index and the unlearning batch as the paper defines them."""

from __future__ import annotations

import math

import pytest
import torch
from planted_backdoor import (
    SIZE,
    TARGET,
    SoftPlantedNet,
    accuracy,
    asr,
    clean_data,
    true_mask,
)

from unlearnscope.ml.kinds.nc import step as cleanse


def test_neural_cleanse_recovers_the_planted_patch_and_flags_its_class() -> None:
    net = SoftPlantedNet()
    x, y = clean_data(600, seed=0)
    assert accuracy(net, x, y) == 100.0 and asr(net, x, y) == 100.0
    found = []
    for c in range(3):
        search = cleanse.TriggerSearch(
            c, init_cost=1e-3, patience=5, lr=0.1, image_size=SIZE,
            gen=torch.Generator().manual_seed(c),
        )  # fmt: skip
        gen = torch.Generator().manual_seed(10 + c)
        for _ in range(100):
            search.step(net, x[torch.randint(len(x), (32,), generator=gen)])
        assert search.reached  # every class has some trigger that reaches it
        found.append(search.result())
    mask, pattern, norm = found[TARGET]
    truth = true_mask()
    assert cleanse.mask_iou(mask, truth) > 0.5
    assert ((mask >= cleanse.MASK_THRESHOLD) & (truth == 0)).sum() == 0  # nothing elsewhere
    # the recovered trigger works as a trigger
    stamped = cleanse.stamp(x[y != TARGET], mask, pattern)
    assert (net(stamped).argmax(1) == TARGET).float().mean() > 0.95
    anomaly = cleanse.anomaly_index([n for _, _, n in found])
    assert anomaly.flagged == [TARGET]
    assert anomaly.index[TARGET] > 2 and norm < anomaly.median
    assert all(n > 20 * norm for c, (_, _, n) in enumerate(found) if c != TARGET)


def test_anomaly_index_is_the_mad_outlier_test() -> None:
    norms = [10.0, 50.0, 52.0, 48.0, 55.0, 45.0, 51.0, 49.0, 53.0, 47.0]
    a = cleanse.anomaly_index(norms)
    med = 49.5
    mad = 1.4826 * 2.5  # median of |n - 49.5| = 2.5
    assert a.median == med and a.mad == pytest.approx(mad)
    assert a.index[0] == pytest.approx(39.5 / mad)
    assert a.flagged == [0]
    # large outliers above the median are not flagged (a hard class, not a backdoor)
    assert cleanse.anomaly_index([*norms[1:], 500.0]).flagged == []
    # all equal: nothing flagged, no division by zero
    same = cleanse.anomaly_index([5.0, 5.0, 5.0])
    assert same.flagged == [] and same.index == [0.0, 0.0, 0.0]
    assert math.isinf(cleanse.anomaly_index([1.0, 5.0, 5.0, 5.0]).index[0])


def test_cost_schedule_starts_at_zero_then_adapts() -> None:
    """lambda is 0 until the threshold holds for `patience` checks, then init_cost; then x2
    after `patience` successes, / 2^1.5 after `patience` failures."""
    search = cleanse.TriggerSearch(0, 1e-3, 2, 0.1, 4, torch.Generator().manual_seed(0))
    search._adapt_cost(1.0)
    assert search.cost == 0.0
    search._adapt_cost(1.0)
    assert search.cost == 1e-3
    search._adapt_cost(1.0)
    search._adapt_cost(1.0)
    assert search.cost == pytest.approx(2e-3)
    search._adapt_cost(0.5)
    search._adapt_cost(0.5)
    assert search.cost == pytest.approx(2e-3 / 2**1.5)


def test_unlearning_batch_stamps_a_share_and_keeps_the_rest() -> None:
    x = torch.rand(10, 3, SIZE, SIZE)
    mask = true_mask()
    pattern = torch.ones(3, SIZE, SIZE)
    out = cleanse.unlearning_batch(x, [(mask, pattern)], share=0.2)
    assert torch.equal(out[2:], x[2:])  # 80% untouched
    assert (out[:2, :, mask.bool()] == 1).all()  # 20% stamped on the mask's pixels
    assert torch.equal(out[:2, :, ~mask.bool()], x[:2, :, ~mask.bool()])
    assert torch.equal(cleanse.unlearning_batch(x, [], share=0.2), x)  # nothing flagged


def test_trigger_image_is_mask_times_pattern() -> None:
    mask = torch.zeros(4, 4)
    mask[0, 0] = 1.0
    pattern = torch.full((3, 4, 4), 0.5)
    img = cleanse.trigger_image(mask, pattern)
    assert img.shape == (4, 4, 3) and img.dtype == torch.uint8
    assert img[0, 0].tolist() == [128, 128, 128] and img[1:].sum() == 0


def test_iou_counts_the_mirrored_trigger_only_under_flip_augmentation() -> None:
    truth = torch.zeros(8, 8)
    truth[6:8, 5:7] = 1.0  # near the bottom right
    mirrored = truth.flip(-1)  # columns 1-2: what flip augmentation also teaches
    assert cleanse.trigger_iou(truth, truth, "none") == 1.0
    assert cleanse.trigger_iou(mirrored, truth, "none") == 0.0
    assert cleanse.trigger_iou(mirrored, truth, "flip") == 1.0
    assert cleanse.trigger_iou(mirrored, truth, "flip_crop") == 1.0


def test_detection_unlearns_the_flagged_classes_or_the_smallest_trigger() -> None:
    found = [
        cleanse.Recovered(c, torch.zeros(4, 4), torch.zeros(3, 4, 4), n, True)
        for c, n in enumerate([30.0, 50.0, 4.0, 60.0, 45.0])
    ]
    spread = cleanse.anomaly_index([r.norm for r in found])
    assert spread.flagged == []  # the norms spread too widely for the MAD test
    assert cleanse.to_unlearn(found, spread, "anomaly") == []
    assert [r.target for r in cleanse.to_unlearn(found, spread, "smallest")] == [2]
    tight = [
        cleanse.Recovered(c, torch.zeros(4, 4), torch.zeros(3, 4, 4), n, True)
        for c, n in enumerate([50.0, 52.0, 4.0, 49.0, 51.0])
    ]
    a = cleanse.anomaly_index([r.norm for r in tight])
    assert [r.target for r in cleanse.to_unlearn(tight, a, "anomaly")] == [2]
    assert [r.target for r in cleanse.to_unlearn(tight, a, "smallest")] == [2]
