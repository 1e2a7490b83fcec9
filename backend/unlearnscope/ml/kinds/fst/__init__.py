"""`fst`: Feature Shift Tuning (Min et al., NeurIPS 2023); step.py, settings.py."""

from __future__ import annotations

from ..kind import PhaseKind

KIND = PhaseKind(
    label="Feature shift tuning",
    description="Feature Shift Tuning (Min et al., NeurIPS 2023): re-initialise the "
    "classifier head, then fine-tune the whole model on clean data with a penalty on the "
    "head's alignment with the original head, its norm held at the original's.",
    step="unlearnscope.ml.kinds.fst.step:Fst",
    uses_forget_set=False,
    settings="unlearnscope.ml.kinds.fst.settings:FstSettings",
    # the authors' fine_tune/ft.py (ft_mode fst): SGD lr 0.01, momentum 0.9, batch 128,
    # 10 epochs with a cosine schedule; 10 epochs of 5% of CIFAR-10 (20 batches an epoch)
    defaults={
        "steps": 200,
        "lr": 0.01,
        "batch_size": 128,
        "momentum": 0.9,
        "ewc_lambda": 0.0,
        "clip_norm": None,
    },
    order=82,
)
