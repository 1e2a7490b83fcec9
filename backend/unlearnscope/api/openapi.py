"""The OpenAPI schema, made to say what the server really answers and accepts.

FastAPI documents a 422 of its own shape (`detail: array`); this server answers every
error as `{"detail": str, ...}` (api/errors.py), a 422 with `errors` and `fields`. Every
operation gets the error answers it can give: 400 (Host), 401 (token, off loopback), 422
(input), 500; state-changing ones 403 (Origin), 413 (body size) and 503 (read-only
server); starting a run also 429 (queue per client, with `limit`) and 507 (disk full).

What a request may hold is the schema's, so that a request the schema allows is not
refused for its form: the server's per-field limits are maxima (`apply_limits`), and a
phase's (an attack's) `settings` follow its kind's settings model (`kind_variants`). The
rules JSON Schema cannot state, across fields or against the server's files, are listed
per operation in `CROSS_FIELD`; only those operations answer 422 to a request that fits
the schema, and their 422 says which rule (`errors`, `fields`, `limit`).
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from pydantic import BaseModel, ConfigDict

from ..ml.attacks.registry import ATTACKS
from ..ml.attacks.settings import attack_settings_class
from ..ml.kinds.registry import PHASE_KINDS
from ..ml.kinds.settings import kind_settings_class

REF = "#/components/schemas/{model}"


class ErrorOut(BaseModel):
    """Every error answer: `detail` says what went wrong and what to do; some add fields
    (`state`, `reason`, `limit`, `run_id`, ...)."""

    model_config = ConfigDict(extra="allow")

    detail: str


class LimitErrorOut(BaseModel):
    """429: `limit` names the server setting the request went past."""

    model_config = ConfigDict(extra="allow")

    detail: str
    limit: str


class ValidationErrorOut(BaseModel):
    """422: `errors` has one line per bad field, `fields` their dotted names;
    `limit` names the server limit a valid request went past, `cell` a sweep's bad cell
    (0-based)."""

    model_config = ConfigDict(extra="allow")

    detail: str
    errors: list[str] = []
    fields: list[str] = []
    limit: str | None = None
    cell: int | None = None


ERROR_MODELS: dict[str, type[BaseModel]] = {"422": ValidationErrorOut, "429": LimitErrorOut}


ALL = {
    "400": "Host header not allowed (UNLEARNSCOPE_ALLOWED_HOSTS)",
    "401": "Token required (a server bound beyond loopback, or UNLEARNSCOPE_TOKEN set)",
    "422": "Invalid input: `errors` names each bad parameter or field",
    "500": "Internal error: its type only; the server log has the details",
}
UNSAFE = {
    "403": "Cross-origin request refused (UNLEARNSCOPE_ALLOWED_ORIGINS)",
    "413": "Request body too large (UNLEARNSCOPE_MAX_BODY_BYTES)",
    "503": "The server serves its history read-only",
}
CREATE = {
    "429": "Too many runs waiting for this client (UNLEARNSCOPE_MAX_QUEUED_PER_CLIENT)",
    "507": "Disk full: no new run can be stored",
}
_RUN_RULES = (
    "the schedule's total steps (limit max_total_steps) and the run's estimated memory "
    "(max_run_memory_mb); a trigger that fits data.image_size; attack.target_class a "
    "class of the data set; a forget set for every phase that uses one (given, or found "
    "by an earlier detection phase); a phase's per-class budget (nc: candidate classes "
    "x steps_per_class below its steps); model.source and model.file together, "
    "model.cam_layer a layer of the model; data.root, model.file and the other paths "
    "inside the server's data directory, and there"
)
# The operations whose body has rules across fields, or against the server's files, that
# JSON Schema cannot state: a request that fits the schema may still be refused 422,
# which names the rule. No other operation refuses a request that fits its schema.
CROSS_FIELD: dict[tuple[str, str], str] = {
    ("post", "/api/runs"): f"Invalid config: the rules across fields: {_RUN_RULES}",
    ("post", "/api/sweeps"): "Invalid sweep: a grid path that is not a config field, more "
    "cells than max_sweep_runs, or a cell whose config breaks a rule of POST /api/runs "
    f"(`cell`, 0-based): {_RUN_RULES}",
    ("post", "/api/check"): "The check is for a model from a file (model.source file or "
    "backdoorbench, with model.file); the file must be on the server (an upload) and "
    "load; the trigger must fit data.image_size",
}


# (component, property) -> the setting that caps it on this server
LIMITED = {
    ("DataConfig", "image_size"): "max_image_size",
    ("DataConfig", "train_size"): "max_dataset_size",
    ("DataConfig", "test_size"): "max_dataset_size",
    ("TrainConfig", "epochs"): "max_epochs",
    ("TrainConfig", "batch_size"): "max_batch_size",
    ("PhaseConfig", "batch_size"): "max_batch_size",
    ("PhaseConfig", "steps"): "max_total_steps",
    ("MonitorConfig", "probe_count"): "max_probe_count",
    ("MonitorConfig", "tar_set_size"): "max_tar_set_size",
    ("MonitorConfig", "eval_size"): "max_tar_set_size",
}


def _cap(prop: dict[str, Any], limit: int) -> None:
    """Lower the `maximum` of an integer property (or of the integer in its anyOf)."""
    for option in [prop, *prop.get("anyOf", [])]:
        if option.get("type") == "integer":
            option["maximum"] = min(option.get("maximum", limit), limit)


def apply_limits(components: dict[str, Any], settings: Any) -> None:
    """The per-field server limits as schema maxima, so the schema says what this
    server accepts. Limits across fields (total steps, estimated memory) are only in
    the 422 answer, which names them."""
    for (component, prop), setting in LIMITED.items():
        props = components.get(component, {}).get("properties", {})
        if prop in props and settings is not None:
            _cap(props[prop], int(getattr(settings, setting)))


def _variants(kinds: dict[str, Any], default: str | None) -> list[dict[str, Any]]:
    """One schema per kind: `kind` that name, `settings` its settings model's schema (no
    settings at all for a kind without a model). The default kind's variant also holds
    when `kind` is left out; the others need it."""
    variants = []
    for kind, model in kinds.items():
        settings = (
            model.model_json_schema(ref_template=REF)
            if model is not None
            else {"type": "object", "maxProperties": 0}
        )
        variant: dict[str, Any] = {"properties": {"kind": {"const": kind}, "settings": settings}}
        if kind != default:
            variant["required"] = ["kind"]
        variants.append(variant)
    return variants


def kind_variants(components: dict[str, Any]) -> None:
    """A phase's and an attack's `settings` as the schema of its kind's settings model
    (ml/kinds/<kind>/settings.py, ml/attacks/<kind>/settings.py), chosen by `kind`."""
    phases = {kind: kind_settings_class(kind) for kind in PHASE_KINDS}
    attacks = {kind: attack_settings_class(kind) for kind in ATTACKS}
    for name, kinds in (("PhaseConfig", phases), ("AttackConfig", attacks)):
        component = components.get(name)
        if component is None:
            continue
        default = component["properties"]["kind"].get("default")
        component["anyOf"] = _variants(kinds, default)


def upload_not_empty(schema: dict[str, Any]) -> None:
    """An upload has at least one byte (an empty file is refused 422)."""
    body = schema["paths"]["/api/files"]["post"]["requestBody"]
    ref = body["content"]["multipart/form-data"]["schema"]["$ref"]
    component = schema["components"]["schemas"][ref.rsplit("/", 1)[1]]
    component["properties"]["file"]["minLength"] = 1


def build_openapi(app: FastAPI) -> dict[str, Any]:
    schema = get_openapi(
        title=app.title, version=app.version, description=app.description, routes=app.routes
    )
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    for model in (ErrorOut, LimitErrorOut, ValidationErrorOut):
        components[model.__name__] = model.model_json_schema(ref_template=REF)
    apply_limits(components, getattr(app.state, "settings", None))
    kind_variants(components)
    if "/api/files" in schema.get("paths", {}):
        upload_not_empty(schema)
    for path, operations in schema.get("paths", {}).items():
        for method, op in operations.items():
            responses = op.setdefault("responses", {})
            wanted = dict(ALL)
            if method in ("post", "put", "patch", "delete"):
                wanted |= UNSAFE
            if method == "post" and path == "/api/runs":
                wanted |= CREATE
            for code, description in wanted.items():
                responses.setdefault(code, {"description": description})
            if (method, path) in CROSS_FIELD:
                responses["422"]["description"] = CROSS_FIELD[(method, path)]
            for code, response in responses.items():
                if not code.startswith(("4", "5")):
                    continue
                error_model = ERROR_MODELS.get(code, ErrorOut).__name__
                content = response.setdefault("content", {})
                examples = content.get("application/json", {})
                content["application/json"] = {
                    **{k: v for k, v in examples.items() if k != "schema"},
                    "schema": {"$ref": REF.format(model=error_model)},
                }
    for unused in ("HTTPValidationError", "ValidationError"):
        components.pop(unused, None)
    return schema


def install_openapi(app: FastAPI) -> None:
    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = build_openapi(app)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
