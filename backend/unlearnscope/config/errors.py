"""Validation errors as people read them: one 'field.path: message' line each."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from pydantic import BaseModel, ValidationError
from pydantic_core import InitErrorDetails, PydanticCustomError
from pydantic_core import ValidationError as CoreValidationError


def relocated(
    err: ValidationError, prefix: tuple[str | int, ...], title: str = "PhaseConfig"
) -> CoreValidationError:
    """`err` (of a settings model) with every error's location under `prefix`, as an error
    of the model `title` (settings.<field>)."""
    details: list[InitErrorDetails] = []
    for e in err.errors():
        detail: InitErrorDetails = {
            "type": e["type"],
            "loc": (*prefix, *e["loc"]),
            "input": e["input"],
        }
        if "ctx" in e:
            detail["ctx"] = e["ctx"]
        details.append(detail)
    return CoreValidationError.from_exception_data(title, details)


def settings_error(
    title: str, message: str, loc: tuple[str, ...], value: Any
) -> CoreValidationError:
    """One error of the model `title` at `loc` (a settings problem no field check sees)."""
    detail: InitErrorDetails = {
        "type": PydanticCustomError("settings", message),
        "loc": loc,
        "input": value,
    }
    return CoreValidationError.from_exception_data(title, [detail])


def normalised_settings(model: type[BaseModel], raw: dict[str, Any], title: str) -> dict[str, Any]:
    """`raw` validated by a settings model and dumped with its defaults filled in; its
    errors located at settings.<field> of the model `title`."""
    try:
        return model.model_validate(raw).model_dump()
    except ValidationError as err:
        raise relocated(err, ("settings",), title) from None


_FINITE_TYPES = ("finite_number",)


def describe_errors(errors: Sequence[Mapping[str, Any]]) -> list[str]:
    """pydantic error dicts -> 'field.path: message' lines a person can act on."""
    lines = []
    for err in errors:
        where = ".".join(str(p) for p in err.get("loc", ()) if p not in ("body",))
        msg = err.get("msg", "invalid value")
        if err.get("type") == "extra_forbidden":
            msg = "unknown field (check the spelling; see `unlearnscope presets --show demo`)"
        elif err.get("type") in _FINITE_TYPES:
            msg = "must be a finite number (NaN and Infinity are refused)"
        elif err.get("type") == "value_error" and msg.startswith("Value error, "):
            msg = msg[len("Value error, ") :]
        lines.append(f"{where or 'config'}: {msg}")
    return lines
