"""Per-run settings: one pydantic `RunConfig`, validated at the edge (CLI, API).

This is the shared vocabulary of the project. `ml` reads these objects as plain values;
every default lives here, with its unit in a comment. Unknown fields are rejected. One
module per section of the config:

    common.py   the shared choices and bounds     data.py      `data`
    model.py    `model`                           attack.py    `attack`
    training.py `training`                        defense.py   `defense`
    monitor.py  `monitor`                         phase.py     `schedule` (PhaseConfig)
    success.py  `success` (the verdict's bar)
    run.py      RunConfig and its cross-section checks
    errors.py   validation errors as lines people read
"""

from __future__ import annotations

from .attack import ATTACKS, AttackConfig
from .common import (
    CAM_METHODS,
    DATASETS,
    MAX_EVERY,
    MAX_SEED,
    MAX_SIZE,
    CamMethod,
    DatasetName,
    Seed,
)
from .data import DataConfig
from .defense import DefenseConfig
from .errors import describe_errors
from .model import MODELS, ModelConfig, check_cam_layer
from .monitor import MonitorConfig
from .phase import PhaseConfig, Schedule, schedule_steps, unfound_forget_users
from .run import CheckConfig, RunConfig
from .success import SuccessConfig
from .training import TrainConfig

__all__ = [
    "ATTACKS",
    "CAM_METHODS",
    "DATASETS",
    "MAX_EVERY",
    "MAX_SEED",
    "MAX_SIZE",
    "MODELS",
    "AttackConfig",
    "CamMethod",
    "CheckConfig",
    "DataConfig",
    "DatasetName",
    "DefenseConfig",
    "ModelConfig",
    "MonitorConfig",
    "PhaseConfig",
    "RunConfig",
    "Schedule",
    "Seed",
    "SuccessConfig",
    "TrainConfig",
    "check_cam_layer",
    "describe_errors",
    "schedule_steps",
    "unfound_forget_users",
]
