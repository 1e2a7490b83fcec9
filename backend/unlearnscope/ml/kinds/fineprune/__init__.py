"""`fineprune`: Fine-pruning (Liu, Dolan-Gavitt & Garg, RAID 2018); step.py, settings.py."""

from __future__ import annotations

from ..kind import PhaseKind

KIND = PhaseKind(
    label="Fine-pruning",
    description="Fine-pruning (Liu, Dolan-Gavitt & Garg, RAID 2018): the first step "
    "prunes the last layer's channels least active on clean data (while held-out "
    "accuracy stays within a tolerance), every later step fine-tunes on clean data.",
    step="unlearnscope.ml.kinds.fineprune.step:FinePrune",
    uses_forget_set=False,
    settings="unlearnscope.ml.kinds.fineprune.settings:FinePruneSettings",
    # 1 pruning step + 200 fine-tuning steps (~10 epochs of 5% of CIFAR-10 at batch 128),
    # lr 0.01 as BackdoorBench's fine-pruning
    defaults={
        "steps": 201,
        "lr": 0.01,
        "batch_size": 128,
        "momentum": 0.9,
        "ewc_lambda": 0.0,
        "clip_norm": None,
    },
    order=70,
)
