from __future__ import annotations

import torch
from torch import nn

from unlearnscope.ml.metrics import attack_success_rate, clean_accuracy, robust_accuracy


class FixedPredictor(nn.Module):
    """Predicts the class stored in the red channel of pixel (0, 0): a known answer."""

    def __init__(self) -> None:
        super().__init__()
        self.dummy = nn.Parameter(torch.zeros(1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        cls = (x[:, 0, 0, 0] * 255).round().long()
        return nn.functional.one_hot(cls, 10).float() + self.dummy


def _images(classes: list[int]) -> torch.Tensor:
    x = torch.zeros(len(classes), 3, 4, 4, dtype=torch.uint8)
    x[:, 0, 0, 0] = torch.tensor(classes, dtype=torch.uint8)
    return x


def test_clean_accuracy_counts_correct_predictions() -> None:
    model = FixedPredictor()
    images = _images([1, 2, 3, 4])
    assert clean_accuracy(model, images, torch.tensor([1, 2, 0, 0])) == 50.0


def test_asr_is_share_predicted_as_target() -> None:
    model = FixedPredictor()
    assert attack_success_rate(model, _images([0, 0, 0, 5]), target=0) == 75.0
    assert attack_success_rate(model, _images([1, 2]).float() / 255, target=0) == 0.0


def test_robust_accuracy_is_share_of_triggered_images_kept_at_their_true_class() -> None:
    model = FixedPredictor()
    # predictions 0, 3, 5, 5 against true labels 1, 3, 5, 2: two of four right
    images = _images([0, 3, 5, 5])
    assert robust_accuracy(model, images, torch.tensor([1, 3, 5, 2])) == 50.0
    assert robust_accuracy(model, images.float() / 255, torch.tensor([0, 3, 5, 5]), 2) == 100.0
