"""`scan`: SCAn, statistical contamination analysis (Tang et al., USENIX Security 2021), a
detection phase: a two-component model of the penultimate features, fitted on the trusted
clean set, tests every class for a second subgroup; the smaller subgroup of an outlier
class becomes the forget set of the later phases (ml/detection/scan.py)."""

from __future__ import annotations

from ..kind import DETECTION_DEFAULTS, PhaseKind

KIND = PhaseKind(
    label="SCAn (detect)",
    description="Detection (Tang et al., USENIX Security 2021): model features as class "
    "identity plus shared variation (fitted on the clean set), test each class for a "
    "second subgroup; in classes whose statistic is an outlier (anomaly index > e²) the "
    "smaller subgroup becomes the forget set of the later phases. The model is not "
    "changed.",
    step="unlearnscope.ml.kinds.scan.step:Scan",
    uses_forget_set=False,
    finds_forget_set=True,
    settings="unlearnscope.ml.kinds.scan.settings:ScanSettings",
    defaults=DETECTION_DEFAULTS,  # no training: the steps split the search
    order=98,
)
