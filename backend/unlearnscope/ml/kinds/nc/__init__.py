"""`nc`: Neural Cleanse (Wang et al., IEEE S&P 2019): trigger reverse-engineering per
candidate class, the MAD anomaly index, then unlearning; step.py, settings.py.

Its former kind name `invert` is still read (old config files, stored runs, event logs).
"""

from __future__ import annotations

from ..kind import PhaseKind

KIND = PhaseKind(
    label="Neural Cleanse (invert + unlearn)",
    description="Neural Cleanse (Wang et al., S&P 2019): reverse-engineer a trigger "
    "(mask and pattern) per candidate class, flag the classes whose trigger is "
    "abnormally small (anomaly index > 2), then fine-tune on clean images, a share "
    "stamped with the flagged trigger and kept at their true labels.",
    step="unlearnscope.ml.kinds.nc.step:NeuralCleanse",
    uses_forget_set=False,
    settings="unlearnscope.ml.kinds.nc.settings:NeuralCleanseSettings",
    # 10 classes x 100 steps of batch 32 (NC code: batch 32, Adam lr 0.1), then 200
    # unlearning steps at lr 0.01
    defaults={
        "steps": 1200,
        "lr": 0.01,
        "batch_size": 32,
        "momentum": 0.9,
        "ewc_lambda": 0.0,
        "clip_norm": None,
    },
    order=80,
    aliases=("invert",),
)
