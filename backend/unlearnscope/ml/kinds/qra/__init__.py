"""`qra`: the Query-based Reactivation Attack (Min et al., NeurIPS 2024), played against a
defence; step.py, settings.py."""

from __future__ import annotations

from ..kind import PhaseKind

KIND = PhaseKind(
    label="Reactivation attack (QRA)",
    description="The query-based reactivation attack (Min et al., NeurIPS 2024): optimise "
    "one small perturbation, added to any image, that makes the defended model answer "
    "triggered images as a re-tuned copy of it would. The weights are left as they are. "
    "Put it after the defence, before relearn.",
    step="unlearnscope.ml.kinds.qra.step:Qra",
    uses_forget_set=False,
    settings="unlearnscope.ml.kinds.qra.settings:QraSettings",
    # the authors' fine_tune/qra.py: 50 epochs over 500 + 500 queries at batch 128
    defaults={
        "steps": 400,
        "lr": 0.01,
        "batch_size": 128,
        "momentum": 0.9,
        "ewc_lambda": 0.0,
        "clip_norm": None,
    },
    order=92,
    attack=True,
    changes_weights=False,
)
