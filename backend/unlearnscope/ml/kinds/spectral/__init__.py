"""`spectral`: spectral signatures (Tran, Li & Madry, NeurIPS 2018), a detection phase:
per class, the squared projection of the centred penultimate features on their top
singular direction; the top 1.5 x the expected poison rate of every class is flagged and
becomes the forget set of the later phases (ml/detection/spectral.py)."""

from __future__ import annotations

from ..kind import DETECTION_DEFAULTS, PhaseKind

KIND = PhaseKind(
    label="Spectral signatures (detect)",
    description="Detection (Tran et al., NeurIPS 2018): score every training sample by "
    "its projection on its class's top singular direction of the penultimate features; "
    "the highest 1.5 x the expected poison rate of each class become the forget set of "
    "the later phases. The model is not changed.",
    step="unlearnscope.ml.kinds.spectral.step:Spectral",
    uses_forget_set=False,
    finds_forget_set=True,
    settings="unlearnscope.ml.kinds.spectral.settings:SpectralSettings",
    defaults=DETECTION_DEFAULTS,  # no training: the steps split the search
    order=95,
)
