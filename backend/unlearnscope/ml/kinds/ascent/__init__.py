"""`ascent`: gradient ascent on the forget set, bounded, with the EWC penalty (step.py).

    objective = -min(CE(f(x_forget), y_target), loss_clamp) + lambda * EWC

BatchNorm stays in eval mode, so the running statistics are not dragged towards triggered
images; the phase's `stop_asr_below` ends it early once the backdoor breaks.
"""

from __future__ import annotations

from ..kind import PhaseKind

KIND = PhaseKind(
    label="Gradient ascent",
    description="Push the loss on the forget set up (bounded by loss_clamp), with the "
    "EWC penalty holding the weights that matter for clean data.",
    step="unlearnscope.ml.kinds.ascent.step:Ascent",
    uses_forget_set=True,
    order=10,
)
