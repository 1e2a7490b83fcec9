"""A tiny classifier with a hand-planted backdoor neuron: the known answer for the defences.

Images are 3 x 16 x 16 in [0, 1]; class k (0, 1, 2) has colour channel k bright (0.8) and
the others dark (0.2), plus uniform noise. The network is conv 3x3 (4 channels) -> BN ->
ReLU -> pooling -> Linear:

- channels 0-2 ("clean neurons") copy colour k at each pixel and are average-pooled:
  they carry the clean task (logit_k = 5 * mean colour k);
- channel 3 ("the backdoor neuron") is a matched filter for a 3x3 checkerboard (+1 on its
  white pixels, -1 on its black ones, all colours), BN bias -`dormancy`, max-pooled over
  the 3x3 positions around the trigger's centre only; it drives the target class 0 with
  weight 2. On a stamped image it reads 15 - dormancy; on clean images about 1.2 +- noise,
  so a large `dormancy` keeps it silent on clean data, a small one leaves it close to
  firing (what Adversarial Neuron Pruning relies on). With `smooth` the backdoor neuron
  is a softplus instead of a ReLU: the same function away from its threshold, but with a
  (tiny) gradient everywhere, as a trained network's neurons have one through its other
  paths; trigger reverse-engineering needs that gradient to start from.

Pruning channel 3 (its BN weight, or the classifier column 3) removes the backdoor and
keeps clean accuracy; pruning any other channel destroys a class.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

SIZE = 16
TARGET = 0
BACKDOOR_CHANNEL = 3
TRIGGER_Y0 = TRIGGER_X0 = SIZE - 4  # a 3x3 patch, 1 px from the bottom-right corner
CHECKER = torch.tensor([[1.0, 0.0, 1.0], [0.0, 1.0, 0.0], [1.0, 0.0, 1.0]])


def true_mask() -> torch.Tensor:
    m = torch.zeros(SIZE, SIZE)
    m[TRIGGER_Y0 : TRIGGER_Y0 + 3, TRIGGER_X0 : TRIGGER_X0 + 3] = 1.0
    return m


def add_trigger(x: torch.Tensor) -> torch.Tensor:
    out = x.clone()
    out[:, :, TRIGGER_Y0 : TRIGGER_Y0 + 3, TRIGGER_X0 : TRIGGER_X0 + 3] = CHECKER
    return out


def clean_data(n: int, seed: int = 0, noise: float = 0.15) -> tuple[torch.Tensor, torch.Tensor]:
    gen = torch.Generator().manual_seed(seed)
    y = torch.randint(0, 3, (n,), generator=gen)
    x = torch.full((n, 3, SIZE, SIZE), 0.2)
    x[torch.arange(n), y] = 0.8
    x += (torch.rand(x.shape, generator=gen) * 2 - 1) * noise
    return x.clamp(0, 1), y


class PlantedNet(nn.Module):
    def __init__(self, dormancy: float, smooth: bool = False) -> None:
        super().__init__()
        self.smooth = smooth
        self.conv = nn.Conv2d(3, 4, 3, padding=1, bias=False)
        self.bn = nn.BatchNorm2d(4)
        self.relu = nn.ReLU(inplace=True)
        self.fc = nn.Linear(4, 3)
        region = torch.zeros(SIZE, SIZE, dtype=torch.bool)
        cy, cx = TRIGGER_Y0 + 1, TRIGGER_X0 + 1
        region[cy - 1 : cy + 2, cx - 1 : cx + 2] = True
        self.register_buffer("region", region)
        with torch.no_grad():
            self.conv.weight.zero_()
            for k in range(3):
                self.conv.weight[k, k, 1, 1] = 1.0
            self.conv.weight[BACKDOOR_CHANNEL] = (2 * CHECKER - 1).expand(3, 3, 3)
            # BN(z) = z - dormancy (channel 3) or z: running statistics are those of the
            # conv outputs on clean data, and gamma, beta undo them, so a clean batch's own
            # statistics (ANP normalises with them) give the same function.
            z = self.conv(clean_data(2000, seed=99)[0])
            mu, var = z.mean((0, 2, 3)), z.var((0, 2, 3), unbiased=False)
            assert self.bn.running_mean is not None and self.bn.running_var is not None
            self.bn.running_mean.copy_(mu)
            self.bn.running_var.copy_(var)
            self.bn.weight.copy_((var + self.bn.eps).sqrt())
            self.bn.bias.copy_(mu)
            self.bn.bias[BACKDOOR_CHANNEL] -= dormancy
            self.fc.weight.zero_()
            self.fc.bias.zero_()
            for k in range(3):
                self.fc.weight[k, k] = 5.0
            self.fc.weight[TARGET, BACKDOOR_CHANNEL] = 2.0
        self.eval()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        z = self.bn(self.conv(x))  # (B, 4, H, W)
        door_z = z[:, BACKDOOR_CHANNEL]
        a = self.relu(z)
        region = self.get_buffer("region")
        clean = a[:, :BACKDOOR_CHANNEL].mean((2, 3))  # (B, 3)
        door_a = F.softplus(door_z) if self.smooth else a[:, BACKDOOR_CHANNEL]
        door = door_a.masked_fill(~region, 0.0).amax((1, 2))  # (B,)
        logits: torch.Tensor = self.fc(torch.cat([clean, door[:, None]], 1))
        return logits


@torch.no_grad()
def accuracy(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> float:
    return 100.0 * (model(x).argmax(1) == y).float().mean().item()


@torch.no_grad()
def asr(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> float:
    keep = y != TARGET
    return 100.0 * (model(add_trigger(x[keep])).argmax(1) == TARGET).float().mean().item()


class SoftPlantedNet(nn.Module):
    """The same task and trigger as PlantedNet, written out for trigger reverse-engineering:
    logit_k = 5 * mean colour k, plus, on the target, 10 * sigmoid((s - 10) / 2) where s is
    the matched-filter response of the checkerboard at the trigger's place (15 on the
    trigger, about 1.2 on clean images). The sigmoid is smooth, so the gradient that leads
    from a random start to the trigger exists everywhere, and about 7 of the 9 trigger
    pixels are needed to reach the target: the smallest trigger is the planted one."""

    def __init__(self) -> None:
        super().__init__()
        self.register_buffer("filter", (2 * CHECKER - 1).expand(3, 3, 3).clone())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        patch = x[:, :, TRIGGER_Y0 : TRIGGER_Y0 + 3, TRIGGER_X0 : TRIGGER_X0 + 3]
        s = (patch * self.get_buffer("filter")).sum((1, 2, 3))  # (B,)
        logits = 5 * x.mean((2, 3))  # (B, 3)
        door = 10 * torch.sigmoid((s - 10) / 2)
        return logits + F.one_hot(torch.full_like(s, TARGET, dtype=torch.long), 3) * door[:, None]
