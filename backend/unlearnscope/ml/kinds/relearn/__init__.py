"""`relearn`: the retuning attack (Min et al., NeurIPS 2024), played against a defence to see
whether the backdoor comes back; step.py, settings.py."""

from __future__ import annotations

from ..kind import PhaseKind

KIND = PhaseKind(
    label="Retuning attack",
    description="The retuning attack (Min et al., NeurIPS 2024): fine-tune on a small "
    "mix of poisoned and clean images to see whether the backdoor comes back. Put it "
    "last: the results report the model before it and after it.",
    step="unlearnscope.ml.kinds.relearn.step:Relearn",
    uses_forget_set=False,
    settings="unlearnscope.ml.kinds.relearn.settings:RelearnSettings",
    # ~5 epochs of a 500-image set at batch 128
    defaults={
        "steps": 20,
        "lr": 0.01,
        "batch_size": 128,
        "momentum": 0.9,
        "ewc_lambda": 0.0,
        "clip_norm": None,
    },
    order=90,
    attack=True,
)
