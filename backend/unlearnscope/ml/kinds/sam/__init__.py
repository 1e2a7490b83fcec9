"""`sam`: FT-SAM, sharpness-aware fine-tuning (Zhu et al., ICCV 2023); step.py, settings.py."""

from __future__ import annotations

from ..kind import PhaseKind

KIND = PhaseKind(
    label="Sharpness-aware fine-tuning",
    description="FT-SAM (Zhu et al., ICCV 2023): fine-tune on clean data with "
    "sharpness-aware minimisation: the gradient is taken at the worst weights within "
    "radius rho, the step from the current ones.",
    step="unlearnscope.ml.kinds.sam.step:Sam",
    uses_forget_set=False,
    settings="unlearnscope.ml.kinds.sam.settings:SamSettings",
    # BackdoorBench ft-sam/cifar10.yaml: lr 0.01, batch 256, 100 epochs of 5% (~10 batches
    # an epoch)
    defaults={
        "steps": 1000,
        "lr": 0.01,
        "batch_size": 256,
        "momentum": 0.9,
        "ewc_lambda": 0.0,
        "clip_norm": None,
    },
    order=40,
)
