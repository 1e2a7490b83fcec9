"""`ibau`: I-BAU, implicit backdoor adversarial unlearning (Zeng et al., ICLR 2022);
step.py, settings.py."""

from __future__ import annotations

from ..kind import PhaseKind

KIND = PhaseKind(
    label="Adversarial unlearning",
    description="I-BAU (Zeng et al., ICLR 2022): rounds of finding the universal "
    "perturbation that most changes clean predictions (inner steps move only it), then "
    "unlearning it with the implicit hypergradient (outer steps).",
    step="unlearnscope.ml.kinds.ibau.step:Ibau",
    uses_forget_set=False,
    settings="unlearnscope.ml.kinds.ibau.settings:IbauSettings",
    # I-BAU code: 5 rounds of 50 inner + 50 outer batches of 100, Adam lr 0.001
    defaults={
        "steps": 500,
        "lr": 0.001,
        "batch_size": 100,
        "momentum": 0.9,
        "ewc_lambda": 0.0,
        "clip_norm": None,
    },
    order=50,
)
