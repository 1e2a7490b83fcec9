"""What a model's classifier reads: the penultimate features (the input of its final
Linear layer), for fine-pruning's channel ranking and the poison detectors.

One forward pass gives the features and the logits together (`features_and_logits`), so a
detector that also needs the per-sample loss (ABL's isolation) pays for one pass only.
"""

from __future__ import annotations

import torch
from torch import nn


def classifier_layer(model: nn.Module) -> nn.Linear:
    """The final Linear layer (the last one the model holds)."""
    last: nn.Linear | None = None
    for module in model.modules():
        if isinstance(module, nn.Linear):
            last = module
    if last is None:
        raise ValueError("this needs a model whose classifier is a Linear layer")
    return last


def pooled_features(model: nn.Module, images: torch.Tensor, batch_size: int = 256) -> torch.Tensor:
    """(N, C) the classifier's inputs (pooled last-layer activations) for uint8/float images."""
    return features_and_logits(model, images, batch_size)[0]


@torch.no_grad()
def features_and_logits(
    model: nn.Module, images: torch.Tensor, batch_size: int = 256
) -> tuple[torch.Tensor, torch.Tensor]:
    """(N, C) penultimate features and (N, K) logits, float on the CPU, in eval mode, for
    uint8 or float [0, 1] images (N, 3, H, W)."""
    fc = classifier_layer(model)
    was_training = model.training
    model.eval()
    device = next(model.parameters()).device
    feats: list[torch.Tensor] = []
    logits: list[torch.Tensor] = []

    def grab(module: nn.Module, inputs: tuple[torch.Tensor, ...]) -> None:
        feats.append(inputs[0].detach().flatten(1).float().cpu())

    handle = fc.register_forward_pre_hook(grab)
    try:
        for start in range(0, len(images), batch_size):
            x = images[start : start + batch_size].to(device)
            if x.dtype == torch.uint8:
                x = x.float().div_(255)
            logits.append(model(x).float().cpu())
    finally:
        handle.remove()
        model.train(was_training)
    if not logits:
        return torch.empty(0, fc.in_features), torch.empty(0, fc.out_features)
    return torch.cat(feats), torch.cat(logits)
