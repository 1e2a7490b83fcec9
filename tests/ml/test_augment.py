from __future__ import annotations

import pytest
import torch

from unlearnscope.ml.augment import augment_batch, random_crop


def _batch(n: int = 16, size: int = 8) -> torch.Tensor:
    return torch.rand(n, 3, size, size, generator=torch.Generator().manual_seed(0))


@pytest.mark.parametrize("mode", ["none", "flip", "flip_crop"])
def test_shape_dtype_and_a_new_tensor(mode: str) -> None:
    x = _batch()
    before = x.clone()
    out = augment_batch(x, mode, torch.Generator().manual_seed(1))
    assert out.shape == x.shape and out.dtype == x.dtype
    assert out.data_ptr() != x.data_ptr()
    assert torch.equal(x, before)


@pytest.mark.parametrize("mode", ["flip", "flip_crop"])
def test_same_generator_seed_same_result(mode: str) -> None:
    x = _batch(64)
    a = augment_batch(x, mode, torch.Generator().manual_seed(5))
    b = augment_batch(x, mode, torch.Generator().manual_seed(5))
    c = augment_batch(x, mode, torch.Generator().manual_seed(6))
    assert torch.equal(a, b) and not torch.equal(a, c)


def test_flip_mirrors_some_images_and_keeps_the_others() -> None:
    x = _batch(64)
    out = augment_batch(x, "flip", torch.Generator().manual_seed(2))
    flipped = (out == x.flip(-1)).flatten(1).all(1)
    kept = (out == x).flatten(1).all(1)
    assert (flipped | kept).all()
    assert 10 < flipped.sum() < 54  # about half, independently per image


def test_crop_shifts_within_the_padding_and_reflects_the_border() -> None:
    # Each row of this image holds its row index: a shift by dy shows up as row + dy.
    size, pad = 12, 4
    rows = torch.arange(size, dtype=torch.float32)[:, None].expand(size, size)
    x = rows.expand(32, 3, size, size).contiguous()
    out = random_crop(x, pad, torch.Generator().manual_seed(0))
    shift = out[:, 0, pad, 0] - pad  # row `pad` is never a reflected one
    assert shift.abs().max() <= pad and len(shift.unique()) > 2
    for img, dy in zip(out, shift.long(), strict=True):
        expected = (torch.arange(size) + dy).abs()
        expected = torch.where(expected >= size, 2 * (size - 1) - expected, expected)
        assert torch.equal(img[0, :, 0], expected.float())  # reflect padding, no edge repeat


def test_crop_moves_content_of_real_images() -> None:
    x = _batch(32, size=16)
    out = augment_batch(x, "flip_crop", torch.Generator().manual_seed(3))
    same = [(o == i).all() or (o == i.flip(-1)).all() for o, i in zip(out, x, strict=True)]
    assert not all(same)


def test_unknown_mode_is_an_error() -> None:
    with pytest.raises(ValueError, match="flip_crop"):
        augment_batch(_batch(), "rotate")
