"""`ImageSet`: a labelled image data set held in memory as one uint8 tensor.

Images stay uint8 (a quarter of the memory of float32) and unnormalised; normalisation is
the model's first layer, so triggers are stamped on plain [0, 1] pixels.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass

import torch

Index = torch.Tensor | Sequence[int]


def as_index(idx: Index) -> torch.Tensor:
    """Integer (or bool mask) tensor from a tensor, list or range of indices."""
    if isinstance(idx, torch.Tensor):
        return idx if idx.dtype == torch.bool else idx.long()
    return torch.as_tensor(list(idx), dtype=torch.long)


@dataclass
class ImageSet:
    images: torch.Tensor  # (N, 3, H, W) uint8, unnormalised
    labels: torch.Tensor  # (N,) int64
    classes: list[str]

    def __post_init__(self) -> None:
        if self.images.dtype != torch.uint8 or self.images.dim() != 4 or self.images.shape[1] != 3:
            raise ValueError(
                f"ImageSet.images must be a (N, 3, H, W) uint8 tensor, got "
                f"{tuple(self.images.shape)} {self.images.dtype}"
            )
        if self.labels.shape != (self.images.shape[0],):
            raise ValueError(
                f"ImageSet.labels must have shape ({self.images.shape[0]},), "
                f"got {tuple(self.labels.shape)}"
            )
        self.labels = self.labels.long()

    def __len__(self) -> int:
        return self.images.shape[0]

    @property
    def image_size(self) -> int:
        return self.images.shape[-1]

    def subset(self, idx: Index) -> ImageSet:
        """A new set with the selected samples (copies; the original is untouched)."""
        i = as_index(idx).to(self.images.device)
        return ImageSet(self.images[i], self.labels[i], list(self.classes))

    def batch(self, idx: Index) -> tuple[torch.Tensor, torch.Tensor]:
        """(B, 3, H, W) float32 in [0, 1] and (B,) int64 labels."""
        i = as_index(idx).to(self.images.device)
        return self.images[i].float().div_(255), self.labels[i]

    def counts(self) -> torch.Tensor:
        """(K,) number of images per class."""
        return torch.bincount(self.labels.cpu(), minlength=len(self.classes))

    def fingerprint(self) -> str:
        """Short sha256 over the image and label bytes and class names: a cache key by content."""
        h = hashlib.sha256()
        h.update(repr((tuple(self.images.shape), self.classes)).encode())
        h.update(self.images.detach().cpu().contiguous().numpy().data)
        h.update(self.labels.detach().cpu().contiguous().numpy().data)
        return h.hexdigest()[:16]
