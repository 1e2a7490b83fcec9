"""`nad`: Neural Attention Distillation (Li et al., ICLR 2021); step.py, settings.py."""

from __future__ import annotations

from ..kind import PhaseKind

KIND = PhaseKind(
    label="Neural attention distillation",
    description="Neural Attention Distillation (Li et al., ICLR 2021): fine-tune a "
    "teacher on clean data (the first teacher_steps steps), then train the model with "
    "CE plus beta times the distance between its and the teacher's attention maps.",
    step="unlearnscope.ml.kinds.nad.step:Nad",
    uses_forget_set=False,
    settings="unlearnscope.ml.kinds.nad.settings:NadSettings",
    # NAD code: 10 teacher epochs + 20 epochs, batch 64, on 5% of CIFAR-10 (~40 batches an
    # epoch); lr 0.01 as BackdoorBench (the NAD code: 0.1, /10 every 2 epochs)
    defaults={
        "steps": 1200,
        "lr": 0.01,
        "batch_size": 64,
        "momentum": 0.9,
        "ewc_lambda": 0.0,
        "clip_norm": None,
    },
    order=30,
)
