"""`pathguard`: our path-guarded recovery, designed from the backdoor-connected path view;
step.py, settings.py."""

from __future__ import annotations

from ..kind import PhaseKind

KIND = PhaseKind(
    label="Path-guarded recovery (ours)",
    description="Ours: recovery fine-tuning (clean CE, the target kept unlikely on the "
    "forget set) with the gradient taken at a random point between the model and the "
    "backdoored one, so the backdoor stays off along the path back, not only at its end.",
    step="unlearnscope.ml.kinds.pathguard.step:PathGuard",
    uses_forget_set=False,
    settings="unlearnscope.ml.kinds.pathguard.settings:PathGuardSettings",
    # as the demo's recovery phase
    defaults={
        "steps": 100,
        "lr": 0.005,
        "batch_size": 64,
        "momentum": 0.9,
        "ewc_lambda": 0.0,
        "clip_norm": None,
        "forget_weight": 1.0,
    },
    order=88,
)
