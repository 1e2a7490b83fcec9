"""Rank accuracy, pointing game and ROC-AUC on hand-made maps with known answers."""

from __future__ import annotations

import pytest
import torch

from unlearnscope.ml.tar import mass_fraction, pointing_game, rank_accuracy, region_auc

H = W = 8


def _region() -> torch.Tensor:
    r = torch.zeros(H, W, dtype=torch.bool)
    r[2:4, 5:8] = True  # 6 pixels
    return r


def test_a_map_equal_to_the_region_scores_one_everywhere() -> None:
    r = _region()
    maps = r.float()[None]
    assert rank_accuracy(maps, r).item() == 1.0
    assert pointing_game(maps, r).item() == 1.0
    assert region_auc(maps, r).item() == 1.0
    assert mass_fraction(maps, r).item() == pytest.approx(1.0, abs=1e-5)


def test_an_inverted_map_has_auc_zero_and_misses() -> None:
    r = _region()
    maps = (~r).float()[None]
    assert region_auc(maps, r).item() == 0.0
    assert rank_accuracy(maps, r).item() == 0.0
    assert pointing_game(maps, r).item() == 0.0


def test_a_constant_map_is_chance() -> None:
    r = _region()
    maps = torch.full((1, H, W), 0.3)
    assert region_auc(maps, r).item() == pytest.approx(0.5)
    share = 6 / 64  # every pixel ties: the region's share of the image
    assert rank_accuracy(maps, r).item() == pytest.approx(share)
    assert pointing_game(maps, r).item() == pytest.approx(share)


def test_partial_overlaps_by_hand() -> None:
    r = _region()
    m = torch.zeros(1, H, W)
    m[0, 2, 5:8] = 1.0  # 3 of the 6 region pixels hottest
    m[0, 0, 0:3] = 0.9  # then 3 pixels outside
    m[0, 3, 5:8] = 0.5  # the other region half
    # top-6 = 3 region + 3 outside -> 0.5
    assert rank_accuracy(m, r).item() == pytest.approx(0.5)
    assert pointing_game(m, r).item() == 1.0
    # AUC: region pixels 1.0 (x3) beat all 58 outside; 0.5 (x3) beat 55 zeros, lose to 3
    expected = (3 * 58 + 3 * 55) / (6 * 58)
    assert region_auc(m, r).item() == pytest.approx(expected)


def test_per_image_regions_and_batches() -> None:
    r1 = _region()
    r2 = torch.zeros(H, W, dtype=torch.bool)
    r2[0, 0] = True
    regions = torch.stack([r1, r2])
    maps = torch.stack([r1.float(), r1.float()])  # second map points away from its region
    assert rank_accuracy(maps, regions).tolist() == [1.0, 0.0]
    assert pointing_game(maps, regions).tolist() == [1.0, 0.0]
    # image 2: region pixel (0) ties with 57 zeros of 63 outside, loses to 6 ones
    assert region_auc(maps, regions)[1].item() == pytest.approx((57 * 0.5) / 63)


def test_empty_regions_are_refused() -> None:
    with pytest.raises(ValueError, match="region"):
        rank_accuracy(torch.rand(1, H, W), torch.zeros(H, W, dtype=torch.bool))
    with pytest.raises(ValueError, match="region"):
        region_auc(torch.rand(1, H, W), torch.ones(H, W, dtype=torch.bool))
