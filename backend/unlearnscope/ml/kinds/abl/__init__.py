"""`abl`: anti-backdoor learning's isolation (Li et al., NeurIPS 2021), a detection
phase: the training samples with the lowest loss under the model, at the isolation ratio
(1%), become the forget set of the later phases (ml/detection/isolation.py)."""

from __future__ import annotations

from ..kind import DETECTION_DEFAULTS, PhaseKind

KIND = PhaseKind(
    label="ABL isolation (detect)",
    description="Detection (Li et al., NeurIPS 2021): a backdoor is learned far faster "
    "than the task, so its samples have the lowest training loss; the lowest 1% become "
    "the forget set of the later phases. The model is not changed.",
    step="unlearnscope.ml.kinds.abl.step:AblIsolation",
    uses_forget_set=False,
    finds_forget_set=True,
    settings="unlearnscope.ml.kinds.abl.settings:AblSettings",
    defaults=DETECTION_DEFAULTS,  # no training: the steps split the search
    order=97,
)
