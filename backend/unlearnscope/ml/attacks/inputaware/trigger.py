"""Input-aware dynamic backdoor (Nguyen & Tran, NeurIPS 2020): a trigger per image.

A generator G maps an image x to a pattern p(x) in [0, 1]^{3 x H x W} and a mask
m(x) in [0, 1]^{H x W}; the triggered image is

    T(x) = x + m(x) * (p(x) - x)

G is trained together with the classifier f (the attack stage). In each batch a share
rho_b (the attack's poison_rate) gets its own trigger and the target label (backdoor),
a share rho_c (settings.cross_rate) gets the trigger of *another* image and keeps its label
(cross-trigger: a trigger works only on the image it was made for), the rest is clean:

    L = CE(f(batch), labels)
        + lambda_div * (d(x1, x2) / d(p(x1), p(x2)) + d(x1, x2) / d(m(x1), m(x2)))
        + lambda_norm * mean(relu(m(x) - density))

with d(a, b) = sqrt(mean((a - b)^2)) per image pair (the diversity loss: different
images must get different triggers). The mask passes the paper's soft threshold
tanh(20 u - 10) / 2 + 1/2 of u = tanh(z) / 2 + 1/2.

Simplified here: one generator network with a pattern head and a mask head, trained
jointly from the start (the paper first trains a separate mask generator for 25 epochs,
then freezes it); the second batch x2 is the same batch shuffled; CE on the classifier
also trains G (as in the paper); Adam with betas (0.5, 0.9) for G.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ..base import Trigger, check_images, like_input, to_float
from .settings import InputAwareSettings

EPS = 1e-7
CHUNK = 512  # images per generator call when stamping


class TriggerGenerator(nn.Module):
    """A small encoder-decoder: image (B, 3, H, W) in [0, 1] -> pattern (B, 3, H, W), mask."""

    def __init__(self, width: int = 16) -> None:
        super().__init__()
        w = width
        self.encode = nn.Sequential(
            nn.Conv2d(3, w, 3, padding=1),
            nn.BatchNorm2d(w),
            nn.ReLU(inplace=True),
            nn.Conv2d(w, 2 * w, 3, stride=2, padding=1),
            nn.BatchNorm2d(2 * w),
            nn.ReLU(inplace=True),
            nn.Conv2d(2 * w, 2 * w, 3, padding=1),
            nn.BatchNorm2d(2 * w),
            nn.ReLU(inplace=True),
        )
        self.decode = nn.Sequential(
            nn.Upsample(scale_factor=2, mode="nearest"),
            nn.Conv2d(2 * w, w, 3, padding=1),
            nn.BatchNorm2d(w),
            nn.ReLU(inplace=True),
            nn.Conv2d(w, 4, 3, padding=1),
        )

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        z = self.decode(self.encode(x * 2 - 1))
        z = z[..., : x.shape[-2], : x.shape[-1]]
        pattern = torch.tanh(z[:, :3]) / (2 + EPS) + 0.5
        soft = torch.tanh(z[:, 3:]) / (2 + EPS) + 0.5
        mask = torch.tanh(soft * 20 - 10) / (2 + EPS) + 0.5  # the paper's threshold
        return pattern, mask


def stamp(x: torch.Tensor, pattern: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    return x + mask * (pattern - x)


def seeded_generator(seed: int, width: int = 16) -> TriggerGenerator:
    """The generator initialised from `seed` (the global RNG is left as it was)."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return TriggerGenerator(width)


class InputAware(Trigger):
    """The trained generator as a trigger; deterministic (eval mode, no randomness)."""

    mask = None
    box = None

    def __init__(self, image_size: int, seed: int = 0) -> None:
        self.image_size = image_size
        self.generator = seeded_generator(seed).eval()

    @torch.no_grad()
    def apply(self, images: torch.Tensor) -> torch.Tensor:
        check_images(images, self.image_size)
        if images.dim() == 3:
            return self.apply(images[None])[0]
        gen = self.generator
        was_training = gen.training
        gen.eval()
        device = next(gen.parameters()).device
        try:
            out = []
            for start in range(0, len(images), CHUNK):
                x = to_float(images[start : start + CHUNK]).float().to(device)
                out.append(stamp(x, *gen(x)))
            result = torch.cat(out) if out else to_float(images).float()
        finally:
            gen.train(was_training)
        return like_input(result, images)

    def __repr__(self) -> str:
        return f"InputAware(image_size={self.image_size})"


def _distance(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    # + a tiny constant under the root: its gradient at 0 (equal triggers) stays finite
    return ((a - b).pow(2).flatten(1).mean(1) + 1e-12).sqrt()  # (B,)


class InputAwareTraining:
    """The batch hook of the attack stage (training.train_classifier's `hook`)."""

    def __init__(
        self,
        generator: TriggerGenerator,
        target: int,
        attack_rate: float,
        cross_rate: float,
        mask_density: float,
        lambda_div: float,
        lambda_norm: float,
        lr: float,
        seed: int,
    ) -> None:
        self.g = generator
        self.target = target
        self.attack_rate, self.cross_rate = attack_rate, cross_rate
        self.density, self.lambda_div, self.lambda_norm = mask_density, lambda_div, lambda_norm
        self.opt = torch.optim.Adam(generator.parameters(), lr=lr, betas=(0.5, 0.9))
        self.rng = torch.Generator().manual_seed(seed + 31)

    def transform(
        self, x: torch.Tensor, y: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
        """The mixed batch (backdoor, cross, clean), its labels and the generator's losses."""
        self.g.train()
        self.opt.zero_grad(set_to_none=True)
        n = len(x)
        nb = min(n, round(self.attack_rate * n))
        nc = min(n - nb, round(self.cross_rate * n))
        if nb == 0:
            return x, y, None
        x2 = x[torch.randperm(n, generator=self.rng).to(x.device)]
        m2 = max(nb, nc)
        pattern, mask = self.g(torch.cat([x[:nb], x2[:m2]]))
        p1, k1, p2, k2 = pattern[:nb], mask[:nb], pattern[nb:], mask[nb:]
        parts = [stamp(x[:nb], p1, k1)]
        if nc:
            parts.append(stamp(x[nb : nb + nc], p2[:nc], k2[:nc]))
        parts.append(x[nb + nc :])
        labels = torch.cat([torch.full_like(y[:nb], self.target), y[nb:]])
        d_img = _distance(x[:nb], x2[:nb])
        div = (d_img / (_distance(p1, p2[:nb]) + EPS)).mean()
        div = div + (d_img / (_distance(k1, k2[:nb]) + EPS)).mean()
        norm = F.relu(mask - self.density).mean()
        extra = self.lambda_div * div + self.lambda_norm * norm
        return torch.cat(parts), labels, extra

    def step(self) -> None:
        self.opt.step()


def build(s: InputAwareSettings, image_size: int, seed: int) -> InputAware:
    """The registry's builder: the generator starts from the run's `seed`, untrained until
    the attack stage trains (or loads) it."""
    return InputAware(image_size, seed=seed)
