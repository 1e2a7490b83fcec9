"""`schedule`: the phases of a run, each of a registered kind (ml/kinds/)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Annotated, Any

from pydantic import (
    Field,
    model_validator,
)

from ..ml.kinds.registry import PHASE_KINDS, canonical_kind
from ..strict import Strict, unit
from .common import known_in, listed
from .errors import normalised_settings, settings_error

# A phase kind is any key of ml.kinds.registry.PHASE_KINDS (a registry, not a Literal, so that
# adding a kind is adding a folder, or installing a plug-in).
PhaseKindName = Annotated[
    str, known_in(PHASE_KINDS, "phase kind"), Field(json_schema_extra=listed(PHASE_KINDS))
]


def schedule_steps(schedule: Sequence[PhaseConfig | Mapping[str, Any]]) -> int:
    """Total planned steps of a schedule (PhaseConfig objects or their dicts)."""
    return sum(int(p.steps if isinstance(p, PhaseConfig) else p["steps"]) for p in schedule)


class PhaseConfig(Strict):
    kind: PhaseKindName = Field(title="Kind")
    steps: int = Field(ge=1, le=100_000, title="Steps")
    lr: float = Field(gt=0, le=10, title="LR")
    batch_size: int = Field(64, ge=1, le=4096, title="Batch")
    momentum: float = Field(0.9, ge=0, lt=1, title="Momentum")
    ewc_lambda: float = Field(0.0, ge=0, le=1e9, title="EWC λ")  # weight of the EWC penalty
    clip_norm: float | None = Field(  # gradient-norm clip; None = off
        5.0, gt=0, le=1e6, title="Clip norm", description="empty: off"
    )
    # ascent: the forget-set cross-entropy is clamped at this value, so the maximised
    # loss stays bounded (its gradient vanishes once a batch reaches it).
    loss_clamp: float | None = Field(
        8.0, gt=0, le=1e6, title="Loss clamp", description="empty: off"
    )
    # recovery: also keep the target class unlikely on the forget set, objective
    #   CE(clean) + forget_weight * mean(-log(1 - p_target(forget))); 0 = plain fine-tuning.
    forget_weight: float = Field(0.0, ge=0, le=1e6, title="Forget weight")
    # recovery: also distil the clean batch from the model the run started from,
    #   + distill_weight * T^2 * KL(teacher || model) at temperature 2; 0 = off.
    distill_weight: float = Field(0.0, ge=0, le=1e6, title="Distill weight")
    # Early stop: end the phase once monitor-set ASR (percent) falls below this. None = off.
    stop_asr_below: float | None = Field(
        None,
        ge=0,
        le=100,
        title="Stop at ASR <",
        description="empty: off",
        json_schema_extra=unit("%"),
    )
    # The kind's own settings (ml.kinds.registry.PHASE_KINDS[kind].settings), validated by its
    # KindSettings model and stored with its defaults filled in; {} for a kind without.
    settings: dict[str, Any] = Field(
        {},
        title="Kind settings",
        description="the phase kind's own settings (docs/defences.md)",
    )

    @model_validator(mode="before")
    @classmethod
    def _kind_settings(cls, data: Any) -> Any:
        """Validate `settings` with the kind's model; errors at settings.<field>."""
        kind = data.get("kind") if isinstance(data, dict) else None
        if isinstance(kind, str) and kind != canonical_kind(kind):
            data = {**data, "kind": canonical_kind(kind)}  # a former name (nc was `invert`)
        if not isinstance(kind, str) or data["kind"] not in PHASE_KINDS:
            return data  # a missing, unknown or mistyped kind is refused by the kind field
        raw = data.get("settings", {})
        if not isinstance(raw, dict):
            return data  # refused by the dict field
        from ..ml.kinds.settings import kind_settings_class

        model = kind_settings_class(data["kind"])
        if model is None:
            if raw:
                message = f"phase kind {data['kind']!r} has no settings; got {sorted(raw)}"
                raise settings_error("PhaseConfig", message, ("settings",), raw)
            return data
        return {**data, "settings": normalised_settings(model, raw, "PhaseConfig")}


def _uses_forget(p: PhaseConfig) -> bool:
    return PHASE_KINDS[p.kind].uses_forget_set or (p.kind == "recovery" and p.forget_weight > 0)


def detection_kinds() -> str:
    """The kinds that find a forget set, for messages ("spectral, ac, ...")."""
    return ", ".join(k for k, v in PHASE_KINDS.items() if v.finds_forget_set)


def unfound_forget_users(schedule: Sequence[PhaseConfig], given: bool) -> list[str]:
    """'schedule.N (kind)' of every phase that needs the forget set but has none: no
    forget set is `given` to the run and no detection phase runs before it."""
    found = given
    users = []
    for i, p in enumerate(schedule):
        if _uses_forget(p) and not found:
            users.append(f"schedule.{i} ({p.kind})")
        found = found or PHASE_KINDS[p.kind].finds_forget_set
    return users


def clean_only_kinds() -> str:
    """The kinds that need no forget set, for messages ("nc, nad, ..."; recovery with
    forget_weight 0)."""
    kinds = [k for k, v in PHASE_KINDS.items() if not v.uses_forget_set]
    return ", ".join(f"{k} (forget_weight 0)" if k == "recovery" else k for k in kinds)


Schedule = Annotated[list[PhaseConfig], Field(min_length=1, max_length=50)]
