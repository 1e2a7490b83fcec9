from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from unlearnscope.ml.ewc import EWCPenalty, diagonal_fisher


def _tiny_model() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(
        nn.Conv2d(3, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(),
        nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(4, 3),
    )


def test_fisher_equals_mean_squared_per_sample_gradients() -> None:
    model = _tiny_model().eval()
    x = torch.rand(6, 3, 8, 8)
    y = torch.tensor([0, 1, 2, 0, 1, 2])
    expected = {n: torch.zeros_like(p) for n, p in model.named_parameters()}
    for i in range(len(x)):  # the slow, obvious way: one backward per sample
        model.zero_grad()
        F.log_softmax(model(x[i : i + 1]), 1)[0, y[i]].backward()
        for n, p in model.named_parameters():
            assert p.grad is not None
            expected[n] += p.grad.pow(2) / len(x)
    model.zero_grad(set_to_none=True)
    fisher = diagonal_fisher(model, x, y, chunk=4)
    for n in expected:
        torch.testing.assert_close(fisher[n], expected[n], rtol=1e-4, atol=1e-7)


def test_fisher_leaves_mode_and_grads_alone() -> None:
    model = _tiny_model().train()
    diagonal_fisher(model, torch.rand(4, 3, 8, 8), torch.tensor([0, 1, 2, 0]))
    assert model.training
    assert all(p.grad is None for p in model.parameters())


def test_penalty_is_zero_at_anchor_and_weighted_square_away_from_it() -> None:
    model = _tiny_model()
    fisher = {n: torch.rand_like(p) for n, p in model.named_parameters()}
    ewc = EWCPenalty(model, fisher)
    assert ewc(model).item() == 0.0
    with torch.no_grad():
        for p in model.parameters():
            p.add_(0.1)
    expected = sum((f * 0.01).sum() for f in fisher.values())
    torch.testing.assert_close(ewc(model), expected)


def test_penalty_gradient_pulls_towards_anchor() -> None:
    model = _tiny_model()
    ewc = EWCPenalty(model, {n: torch.ones_like(p) for n, p in model.named_parameters()})
    with torch.no_grad():
        model[-1].bias.add_(1.0)  # type: ignore[index]
    ewc(model).backward()
    torch.testing.assert_close(model[-1].bias.grad, torch.full((3,), 2.0))  # type: ignore[index]
