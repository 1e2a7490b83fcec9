"""TAR and trigger mass fraction on hand-made maps with known answers."""

from __future__ import annotations

import pytest
import torch

from unlearnscope.ml.tar import mass_fraction, tar, trigger_attention_ratio


def _maps() -> tuple[torch.Tensor, torch.Tensor]:
    mask = torch.zeros(4, 4, dtype=torch.bool)
    mask[:2, :2] = True  # 4 trigger pixels, 12 others
    maps = torch.zeros(4, 4, 4)
    maps[0] = 0.5
    maps[0, :2, :2] = 1.0  # heat on the trigger, half as much elsewhere
    maps[1] = 1.0  # uniform
    # maps[2]: all zero (e.g. a class with no positive evidence)
    maps[3, 3, 3] = 1.0  # all heat off the trigger, on one pixel
    return maps, mask


def test_tar_known_values() -> None:
    maps, mask = _maps()
    eps = 1e-6
    expected = torch.tensor([1.0 / (0.5 + eps), 1.0 / (1.0 + eps), 0.0, 0.0])
    torch.testing.assert_close(trigger_attention_ratio(maps, mask), expected)
    assert tar is trigger_attention_ratio


def test_tar_grows_with_attention_on_the_trigger() -> None:
    maps, mask = _maps()
    hot = maps[3:4].clone()
    hot[0, 0, 0] = 1.0  # add heat on the trigger: mean inside 1/4, outside 1/12
    torch.testing.assert_close(
        trigger_attention_ratio(hot, mask), torch.tensor([3.0]), rtol=1e-4, atol=0
    )


def test_mass_fraction_known_values() -> None:
    maps, mask = _maps()
    eps = 1e-6
    expected = torch.tensor([4.0 / (4.0 + 6.0 + eps), 4.0 / (16.0 + eps), 0.0, 0.0])
    torch.testing.assert_close(mass_fraction(maps, mask), expected)


def test_per_image_masks() -> None:
    maps, mask = _maps()
    masks = torch.stack([mask, mask, mask, mask.flip(0, 1)])  # last: trigger bottom-right
    out = mass_fraction(maps, masks)
    torch.testing.assert_close(out[3], torch.tensor(1.0 / (1.0 + 1e-6)))
    torch.testing.assert_close(out[:3], mass_fraction(maps[:3], mask))


def test_masks_that_cannot_give_a_ratio_are_refused() -> None:
    maps, _ = _maps()
    with pytest.raises(ValueError, match="inside and outside"):
        trigger_attention_ratio(maps, torch.zeros(4, 4, dtype=torch.bool))
    with pytest.raises(ValueError, match="inside and outside"):
        trigger_attention_ratio(maps, torch.ones(4, 4, dtype=torch.bool))
    with pytest.raises(ValueError, match="does not fit"):
        trigger_attention_ratio(maps, torch.ones(3, 4, dtype=torch.bool))
    with pytest.raises(TypeError, match="bool"):
        mass_fraction(maps, torch.ones(4, 4))
