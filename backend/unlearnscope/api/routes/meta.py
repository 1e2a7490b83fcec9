"""Health and the options the run form is built from."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from ... import config as cfg
from ...ml.attacks.settings import attack_options
from ...ml.kinds.settings import phase_kind_options
from ...presets import PRESET_DESCRIPTIONS, PRESETS, preset_config, preset_outcomes
from ...settings import Settings
from ...states import state_lists
from ..close_codes import close_code_options
from ..deps import ServiceDep, SettingsDep
from ..openapi import apply_limits
from ..schemas import AttackKindOut, HealthOut, OptionsOut

router = APIRouter(prefix="/api", tags=["meta"])


@router.get("/health", response_model=HealthOut, summary="Is the server up")
def health(service: ServiceDep) -> HealthOut:
    active, queued = service.counts()
    return HealthOut(
        status="ok",
        version=service.version,
        device=service.device,
        active_runs=active,
        queued_runs=queued,
        max_active_runs=service.max_active_runs(),
        read_only=service.read_only,
        disk_full=service.disk_full,
    )


@router.get(
    "/options",
    response_model=OptionsOut,
    summary="Choices for the run form, the presets, the RunConfig JSON schema, run states, "
    "phase kinds and WebSocket close codes",
)
def options(settings: SettingsDep) -> OptionsOut:
    default = settings.demo_preset if settings.demo_preset in PRESETS else "demo"
    return OptionsOut(
        datasets=list(cfg.DATASETS),
        models=list(cfg.MODELS),
        attacks=list(cfg.ATTACKS),
        cam_methods=list(cfg.CAM_METHODS),
        phase_kinds=[
            {
                k: entry[k]
                for k in (
                    "kind",
                    "label",
                    "description",
                    "uses_forget_set",
                    "finds_forget_set",
                    "attack",
                    "defaults",
                    "settings_schema",
                )
            }
            for entry in phase_kind_options()
        ],
        attack_kinds=[AttackKindOut(**entry) for entry in attack_options()],
        presets={name: preset_config(name).model_dump(mode="json") for name in PRESETS},
        preset_outcomes=preset_outcomes(),
        preset_descriptions=PRESET_DESCRIPTIONS,
        default_preset=default,
        run_config_schema=_limited_schema(settings),
        states=state_lists(),
        close_codes=close_code_options(),
    )


def _limited_schema(settings: Settings) -> dict[str, Any]:
    """RunConfig's JSON schema with this server's per-field limits as maxima."""
    schema = cfg.RunConfig.model_json_schema()
    apply_limits(schema.get("$defs", {}), settings)
    return schema
