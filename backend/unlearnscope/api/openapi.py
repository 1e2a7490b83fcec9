"""The OpenAPI schema, made to say what the server really answers.

FastAPI documents a 422 of its own shape (`detail: array`); this server answers every
error as `{"detail": str, ...}` (api/errors.py), a 422 with `errors` and `fields`. Every
operation gets the error answers it can give: 400 (Host), 401 (token, off loopback), 422
(input), 500; state-changing ones 403 (Origin) and 413 (body size); starting a run also
429 (queue per client), 503 (read-only server) and 507 (disk full).
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from pydantic import BaseModel, ConfigDict

REF = "#/components/schemas/{model}"


class ErrorOut(BaseModel):
    """Every error answer: `detail` says what went wrong and what to do; some add fields
    (`state`, `reason`, `limit`, `run_id`, ...)."""

    model_config = ConfigDict(extra="allow")

    detail: str


class ValidationErrorOut(BaseModel):
    """422: `errors` has one line per bad field, `fields` their dotted names;
    `limit` names the server limit a valid request went past."""

    model_config = ConfigDict(extra="allow")

    detail: str
    errors: list[str] = []
    fields: list[str] = []


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


def build_openapi(app: FastAPI) -> dict[str, Any]:
    schema = get_openapi(
        title=app.title, version=app.version, description=app.description, routes=app.routes
    )
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    for model in (ErrorOut, ValidationErrorOut):
        components[model.__name__] = model.model_json_schema(ref_template=REF)
    apply_limits(components, getattr(app.state, "settings", None))
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
            for code, response in responses.items():
                if not code.startswith(("4", "5")):
                    continue
                error_model = "ValidationErrorOut" if code == "422" else "ErrorOut"
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
