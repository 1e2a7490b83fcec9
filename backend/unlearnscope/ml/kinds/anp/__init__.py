"""`anp`: Adversarial Neuron Pruning (Wu & Wang, NeurIPS 2021); step.py, settings.py."""

from __future__ import annotations

from ..kind import PhaseKind

KIND = PhaseKind(
    label="ANP (adversarial neuron pruning)",
    description="Adversarial Neuron Pruning (Wu & Wang, NeurIPS 2021): learn a mask per "
    "BatchNorm channel on clean data under an adversarial perturbation of the neurons "
    "(the weights stay fixed), then prune the channels whose mask ends below the "
    "threshold.",
    step="unlearnscope.ml.kinds.anp.step:Anp",
    uses_forget_set=False,
    settings="unlearnscope.ml.kinds.anp.settings:AnpSettings",
    # ANP code: 2000 iterations of batch 128, mask SGD lr 0.2, momentum 0.9
    defaults={
        "steps": 2000,
        "lr": 0.2,
        "batch_size": 128,
        "momentum": 0.9,
        "ewc_lambda": 0.0,
        "clip_norm": None,
    },
    order=60,
)
