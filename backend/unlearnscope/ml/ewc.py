"""Elastic Weight Consolidation: a diagonal Fisher and the quadratic penalty.

    penalty(theta) = sum_i F_i * (theta_i - theta*_i)^2

`theta*` are the weights when the Fisher was estimated (the backdoored model) and
`F_i = mean_n (d log p(y_n | x_n) / d theta_i)^2` over clean samples (x_n, y_n): the
empirical Fisher with true labels, from exact per-sample gradients (torch.func.vmap).
The caller multiplies by lambda.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn
from torch.func import functional_call, grad, vmap


def diagonal_fisher(
    model: nn.Module,
    images: torch.Tensor,
    labels: torch.Tensor,
    chunk: int | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> dict[str, torch.Tensor]:
    """Per-parameter mean squared per-sample gradient of the log-likelihood.

    images: (N, C, H, W) float on the model's device; labels: (N,). The model is used in
    eval mode (BatchNorm on running statistics, so samples are independent) and its mode
    and parameter .grad are left as they were.
    """
    params = {n: p.detach() for n, p in model.named_parameters() if p.requires_grad}
    buffers = {n: b.detach() for n, b in model.named_buffers()}
    n_params = sum(p.numel() for p in params.values())
    if chunk is None:  # big chunks are fastest; cap one chunk's gradients near 512 MB (fp32)
        chunk = max(1, min(512, int(128e6 // max(n_params, 1))))

    def log_lik(p: dict[str, torch.Tensor], x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        logits = functional_call(model, (p, buffers), (x.unsqueeze(0),))  # (1, K)
        return torch.log_softmax(logits, dim=1).gather(1, y.view(1, 1)).sum()

    per_sample_grad = vmap(grad(log_lik), in_dims=(None, 0, 0))
    fisher = {n: torch.zeros_like(p) for n, p in params.items()}
    was_training = model.training
    model.eval()
    try:
        total = len(images)
        for start in range(0, total, chunk):
            g = per_sample_grad(
                params, images[start : start + chunk], labels[start : start + chunk]
            )
            for n in fisher:
                fisher[n] += g[n].pow(2).sum(0)
            if progress is not None:
                progress(min(start + chunk, total), total)
    finally:
        model.train(was_training)
    return {n: f / max(len(images), 1) for n, f in fisher.items()}


class EWCPenalty:
    """sum_i F_i (theta_i - theta*_i)^2 over the parameters that have a Fisher entry."""

    def __init__(self, model: nn.Module, fisher: dict[str, torch.Tensor]) -> None:
        self.fisher = fisher
        self.anchor = {n: p.detach().clone() for n, p in model.named_parameters() if n in fisher}

    def __call__(self, model: nn.Module) -> torch.Tensor:
        terms = [
            (self.fisher[n] * (p - self.anchor[n]).pow(2)).sum()
            for n, p in model.named_parameters()
            if n in self.fisher
        ]
        return torch.stack(terms).sum()
