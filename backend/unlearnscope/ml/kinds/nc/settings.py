"""Settings of `nc`, Neural Cleanse (Wang et al., IEEE S&P 2019): trigger
reverse-engineering per candidate class, the anomaly index, then unlearning.

Paper defaults (and its code, bolunwang/backdoor visualizer.py): Adam lr 0.1 on the mask
and pattern, initial cost 1e-3, patience 5, cost multiplier 2 (down: 2^1.5), anomaly index
threshold 2, unlearning with 20% of the images stamped with the recovered trigger. The
paper optimises about a thousand epochs per class on a GPU; `steps_per_class` bounds it
to 100 mini-batch steps by default (a few seconds a class on a CPU for the demo's model,
about 10 s for the small CNN on CIFAR-10), which is enough on the demo and CIFAR-10
models (docs/defences.md). The phase's steps = candidate classes x steps_per_class for
the reverse-engineering, the rest unlearning.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, field_validator

from ....strict import STEPS
from ..settings import KindSettings

MAX_CLASS = 9999


def _class_list_schema(schema: dict[str, Any]) -> None:
    """The schema of `classes` says what `_distinct` checks: a list of distinct indices
    in 0-MAX_CLASS, at least one."""
    for option in schema.get("anyOf", []):
        if option.get("type") == "array":
            option["items"] = {"type": "integer", "minimum": 0, "maximum": MAX_CLASS}
            option.update(minItems=1, uniqueItems=True)


class NeuralCleanseSettings(KindSettings):
    classes: Literal["all"] | list[int] = Field(
        "all",
        title="Candidate classes",
        description='"all" or a list of class indices to reverse-engineer',
        json_schema_extra=_class_list_schema,
    )
    steps_per_class: int = Field(
        100,
        ge=1,
        le=100_000,
        title="Steps per class",
        description="optimisation steps of each class's trigger",
        json_schema_extra=STEPS,
    )
    inversion_lr: float = Field(
        0.1, gt=0, le=10, title="Inversion LR", description="Adam on the mask and pattern"
    )
    init_cost: float = Field(
        1e-3, gt=0, le=1e3, title="Initial cost", description="λ of the mask's L1 norm"
    )
    patience: int = Field(
        5, ge=1, le=1000, title="Patience", description="steps before the cost changes"
    )
    detection: Literal["anomaly", "smallest"] = Field(
        "anomaly",
        title="Classes to unlearn",
        description="anomaly: those the MAD test flags (the paper); smallest: the class "
        "with the smallest trigger, flagged or not (for a defender sure of a backdoor)",
    )
    unlearn_share: float = Field(
        0.2,
        ge=0,
        le=1,
        title="Stamped share",
        description="of each unlearning batch, stamped with the recovered trigger",
    )

    @field_validator("classes")
    @classmethod
    def _distinct(cls, value: Literal["all"] | list[int]) -> Literal["all"] | list[int]:
        if isinstance(value, list):
            if not value:
                raise ValueError('give at least one class, or "all"')
            if len(set(value)) != len(value) or min(value) < 0 or max(value) > MAX_CLASS:
                raise ValueError(f"classes must be distinct indices in 0-{MAX_CLASS}")
        return value

    def candidates(self, n_classes: int) -> int:
        """How many classes are reverse-engineered on data of `n_classes` classes."""
        return n_classes if self.classes == "all" else len(self.classes)

    def budget_problem(self, steps: int, n_classes: int) -> str | None:
        if isinstance(self.classes, list) and max(self.classes) >= n_classes:
            return (
                f"settings.classes {self.classes} are not all classes of this data "
                f"(0-{n_classes - 1})"
            )
        needed = self.candidates(n_classes) * self.steps_per_class
        if steps > needed:
            return None
        return (
            f"nc reverse-engineers {self.candidates(n_classes)} classes x {self.steps_per_class} "
            f"steps = {needed} steps before it can unlearn, but the phase has {steps}: give it "
            f"more steps (e.g. {needed + max(20, needed // 6)}), fewer steps_per_class, or "
            "fewer candidate classes"
        )
