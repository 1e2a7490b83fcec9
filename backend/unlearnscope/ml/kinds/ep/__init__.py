"""`ep`: exact purification, the oracle reference of Min et al. (NeurIPS 2023/2024);
step.py, settings.py."""

from __future__ import annotations

from ..kind import PhaseKind

KIND = PhaseKind(
    label="Exact purification (oracle)",
    description="Exact purification, an oracle reference (Min et al., NeurIPS 2023): "
    "fine-tune on clean data mixed with the truly poisoned training samples at their "
    "true classes. Only a simulation knows them: a bound for real defences, not one.",
    step="unlearnscope.ml.kinds.ep.step:Ep",
    uses_forget_set=False,
    settings="unlearnscope.ml.kinds.ep.settings:EpSettings",
    # as FST's fine-tuning (the papers' common recipe): 10 epochs of the clean split
    defaults={
        "steps": 200,
        "lr": 0.01,
        "batch_size": 128,
        "momentum": 0.9,
        "ewc_lambda": 0.0,
        "clip_norm": None,
    },
    order=86,
)
