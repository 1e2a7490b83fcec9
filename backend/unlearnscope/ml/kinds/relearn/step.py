"""`relearn`: the retuning attack (RA) of Min, Qin, Zhang, Shen, Cheng (NeurIPS 2024,
"Uncovering, Explaining, and Mitigating the Superficial Safety of Backdoor Defense").

The attacker fine-tunes the (purified) model with plain CE on a small fixed set: a share
`poisoned_fraction` of triggered images labelled as the target, the rest clean images.
The poisoned images are the attacker's own (PhaseData.attack_samples: the truly poisoned
samples, when the backdoor was planted here or a BackdoorBench file lists them), else the
forget set's (the identified poisoned samples, e.g. a user's folder); with neither they
are clean images stamped with the true trigger and labelled as the target, as the
attacker (who knows the trigger) would make them. Never a detection phase's flagged set as
such: its clean false positives would weaken the attack, and the retuned ASR after a
detected forget set would not compare with the oracle's. This is
the one phase kind that uses the attack's trigger (PhaseData.attack_trigger): it plays
the attacker, not the defender. No augmentation (a flip would move a patch trigger).
A trailing relearn phase is reported apart: RunFinished.after is the model before it,
RunFinished.retuned the model after it.
"""

from __future__ import annotations

import torch

from ...imageset import ImageSet
from ..finetune import finetune_step
from ..protocol import (
    PhaseContext,
    PhaseData,
    PhaseRun,
    PhaseVisual,
    StepOutcome,
    phase_optimizer,
)
from .settings import RelearnSettings


def retuning_set(data: PhaseData, s: RelearnSettings, gen: torch.Generator) -> ImageSet:
    """The attacker's fine-tuning set: poisoned and clean images, shuffled. Without a
    `retune_size`, the defender's whole clean split and `poisoned_count` poisoned ones."""
    clean = data.clean
    if len(clean) == 0:
        raise ValueError("relearn needs clean images")
    if s.retune_size is None:
        n_poison = s.poisoned_count or max(1, round(s.poisoned_fraction * len(clean)))
        clean_idx = torch.randperm(len(clean), generator=gen)
    else:
        n_poison = s.poisoned_count or max(1, round(s.poisoned_fraction * s.retune_size))
        n_poison = min(n_poison, s.retune_size - 1)
        clean_idx = torch.randint(len(clean), (s.retune_size - n_poison,), generator=gen)
    own = data.attack_samples if data.attack_samples is not None else data.forget
    if len(own) > 0:
        if s.poisoned_count is not None and n_poison <= len(own):  # exactly, no repeats
            idx = torch.randperm(len(own), generator=gen)[:n_poison]
        else:
            idx = torch.randint(len(own), (n_poison,), generator=gen)
        p_images, p_labels = own.images[idx], own.labels[idx]
    else:
        if data.attack_trigger is None or data.attack_target is None:
            raise ValueError(
                "relearn without a forget set stamps the attack's trigger, which this run "
                "does not know"
            )
        idx = torch.randint(len(clean), (n_poison,), generator=gen)
        p_images = data.attack_trigger.apply(clean.images[idx])
        p_labels = torch.full((n_poison,), int(data.attack_target), dtype=torch.long)
    images = torch.cat([clean.images[clean_idx], p_images])
    labels = torch.cat([clean.labels[clean_idx], p_labels])
    order = torch.randperm(len(images), generator=gen)
    return ImageSet(images[order], labels[order], list(clean.classes))


class RelearnRun:
    def __init__(self, ctx: PhaseContext) -> None:
        assert isinstance(ctx.settings, RelearnSettings)
        self.data = retuning_set(ctx.data, ctx.settings, ctx.gen)
        self.opt = phase_optimizer(ctx)

    def step(self, ctx: PhaseContext) -> StepOutcome:
        return finetune_step(ctx, self.opt, self.data, augment=False)

    def finish(self, ctx: PhaseContext) -> list[PhaseVisual]:
        return []


class Relearn:
    def start(self, ctx: PhaseContext) -> PhaseRun:
        return RelearnRun(ctx)
