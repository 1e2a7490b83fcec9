"""`recovery`: fine-tuning on the clean set, optionally keeping the target class unlikely on
the forget set and distilling from the starting model (step.py has the formula)."""

from __future__ import annotations

from ..kind import PhaseKind

KIND = PhaseKind(
    label="Recovery fine-tuning",
    description="Fine-tune on the clean set; optionally keep the target unlikely on the "
    "forget set (forget_weight) and distil from the starting model (distill_weight).",
    step="unlearnscope.ml.kinds.recovery.step:Recovery",
    uses_forget_set=False,
    order=20,
)
