"""`pam`: Path-Aware Minimization (Min et al., NeurIPS 2024); step.py, settings.py."""

from __future__ import annotations

from ..kind import PhaseKind

KIND = PhaseKind(
    label="Path-aware minimisation",
    description="Path-Aware Minimization (Min et al., NeurIPS 2024): fine-tune on clean "
    "data (a share stamped with a trigger an earlier phase recovered, at true labels) "
    "with the gradient taken a distance rho back toward the backdoored model along the "
    "path joining them, so the model moves off that path.",
    step="unlearnscope.ml.kinds.pam.step:Pam",
    uses_forget_set=False,
    settings="unlearnscope.ml.kinds.pam.settings:PamSettings",
    # the authors' BTIDBF/btidbfu.py --use_pam: SGD lr 0.01, momentum 0.1, batch 128; their
    # 3 rounds x 30 epochs are ~1800 steps of 5% of CIFAR-10: 300 here (see doc.md)
    defaults={
        "steps": 300,
        "lr": 0.01,
        "batch_size": 128,
        "momentum": 0.1,
        "ewc_lambda": 0.0,
        "clip_norm": None,
    },
    order=84,
)
