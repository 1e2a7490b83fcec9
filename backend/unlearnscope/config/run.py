"""`RunConfig`: every setting of one run, and the checks across its sections."""

from __future__ import annotations

from pydantic import (
    Field,
    model_validator,
)

from ..strict import Strict
from .attack import AttackConfig
from .common import FIXED_CLASSES, Seed
from .data import DataConfig
from .defense import DefenseConfig
from .model import ModelConfig
from .monitor import MonitorConfig
from .phase import (
    PhaseConfig,
    Schedule,
    clean_only_kinds,
    detection_kinds,
    schedule_steps,
    unfound_forget_users,
)
from .success import SuccessConfig
from .training import TrainConfig


class RunConfig(Strict):
    name: str = Field("run", min_length=1, max_length=100, title="Run name")
    seed: Seed = Field(0, title="Seed", description="seeds data, poisoning, sampling and training")
    data: DataConfig = DataConfig()
    model: ModelConfig = ModelConfig()
    attack: AttackConfig = AttackConfig()
    training: TrainConfig = TrainConfig()
    defense: DefenseConfig = DefenseConfig()
    monitor: MonitorConfig = MonitorConfig()
    success: SuccessConfig = SuccessConfig()
    schedule: Schedule = Field(
        default_factory=lambda: [
            PhaseConfig(kind="ascent", steps=40, lr=0.01, ewc_lambda=50.0),
            PhaseConfig(kind="recovery", steps=60, lr=0.01, ewc_lambda=0.0),
        ]
    )

    @model_validator(mode="after")
    def _consistent(self) -> RunConfig:
        self._check_forget_set()
        self._check_import()
        classes = FIXED_CLASSES.get(self.data.name)
        if classes is not None and self.attack.target_class >= classes:
            raise ValueError(
                f"attack.target_class={self.attack.target_class} is not a class of "
                f"{self.data.name!r} (allowed: 0-{classes - 1})"
            )
        self.attack.check_image(self.data.image_size)
        return self

    def _check_import(self) -> None:
        """A model from a file: what the defender can and cannot have."""
        if not self.model.imported:
            if self.attack.triggered_root is not None or self.defense.forget_root is not None:
                raise ValueError(
                    "attack.triggered_root and defense.forget_root are for a model from a "
                    "file (model.source); a model trained here has its own"
                )
            if not self.attack.known:
                raise ValueError(
                    "attack.known is off, but the model is trained here with that attack: "
                    "an unknown trigger needs a model from a file (model.source)"
                )
            return
        if self.attack.triggered_root is not None and (
            self.model.source != "file" or not self.attack.known or self.data.name != "imagefolder"
        ):
            raise ValueError(
                "attack.triggered_root pairs your triggered test images with the clean ones "
                "of an image folder: it needs model.source 'file', attack.known on and "
                "data.name 'imagefolder'"
            )
        if self.defense.forget_root is not None and self.model.source != "file":
            raise ValueError(
                "defense.forget_root is for a model from a checkpoint (model.source 'file'); "
                "a BackdoorBench file brings its own forget set"
            )
        if self.model.source == "file" and self.defense.oracle == "on":
            raise ValueError(
                "defense.oracle is on, but a model from a checkpoint comes with no record "
                "of which samples were poisoned: only a backdoor planted here or a "
                "BackdoorBench file (its bd_train) has that truth"
            )

    @property
    def oracle(self) -> bool:
        """Whether the phases are handed the truly poisoned samples as the forget set."""
        if self.defense.oracle == "auto":
            return not self.model.imported
        return self.defense.oracle == "on"

    @property
    def forget_given(self) -> bool:
        """Whether the run starts with a forget set, before any detection phase: the oracle's
        (a backdoor planted here, a BackdoorBench file's bd_train) or the user's folder."""
        if self.defense.forget_size == 0:
            return False
        if self.model.source == "file":
            return self.defense.forget_root is not None
        return self.oracle

    def _check_forget_set(self) -> None:
        """Every phase that needs the forget set has one: given, or found by a detection
        phase before it."""
        users = unfound_forget_users(self.schedule, self.forget_given)
        if not users:
            return
        detect = f"put a detection phase ({detection_kinds()}) before it"
        clean = f"use kinds that need only clean data ({clean_only_kinds()})"
        also = f" (also: {', '.join(users[1:])})" if users[1:] else ""
        if self.defense.forget_size == 0:
            why = "defense.forget_size is 0: give the defender some"
        elif self.model.source == "file":
            why = (
                "a model from a checkpoint comes with none: give them as a folder "
                "(defense.forget_root), use a BackdoorBench file (its bd_train)"
            )
        else:
            why = "the oracle is off (defense.oracle), so no phase is handed the poisoned samples"
        raise ValueError(
            f"{users[0]} needs the forget set (identified poisoned samples), but {why}, "
            f"{detect}, or {clean}{also}"
        )

    def total_steps(self) -> int:
        return schedule_steps(self.schedule)


class CheckConfig(Strict):
    """What the check before a run needs (POST /api/check): the model and the data it is
    checked on, the trigger when known; no schedule (the check runs no phase)."""

    seed: Seed = Field(0, title="Seed")
    data: DataConfig = DataConfig()
    model: ModelConfig = ModelConfig()
    attack: AttackConfig = AttackConfig()
    monitor: MonitorConfig = MonitorConfig()

    @model_validator(mode="after")
    def _imported(self) -> CheckConfig:
        if not self.model.imported:
            raise ValueError(
                "model.source: the check is for a model from a file (source file or backdoorbench)"
            )
        self.attack.check_image(self.data.image_size)
        return self
