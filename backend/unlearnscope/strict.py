"""The strict pydantic base of every settings model, and the units their fields carry.

Its own module so that the run config (config/) and the per-kind phase settings
(ml/kinds/*/settings.py) share one base without importing each other.
"""

from __future__ import annotations

from types import UnionType
from typing import Any, Union, get_args, get_origin

from pydantic import BaseModel, ConfigDict, model_validator


# A field's `title` is its label and its `description` a one-line hint, in /docs, the
# page's form (read from the JSON schema) and the settings table of docs/settings.md; a unit is the
# schema's "unit" key.
def unit(name: str) -> dict[str, Any]:
    return {"unit": name}


PX = unit("px")  # json_schema_extra of a field in pixels
IMAGES = unit("images")
STEPS = unit("steps")


def _is_int_field(annotation: Any) -> bool:
    if annotation is int:
        return True
    return get_origin(annotation) in (Union, UnionType) and int in get_args(annotation)


class Strict(BaseModel):
    # strict: no coercion (true is not 1, "5" is not 5); floats take ints; tuples take
    # lists; an integer may be written 5.0, as JSON Schema allows (see below).
    model_config = ConfigDict(
        extra="forbid", validate_assignment=True, allow_inf_nan=False, strict=True
    )

    @model_validator(mode="before")
    @classmethod
    def _integral_floats(cls, data: Any) -> Any:
        """5.0 for an integer field is 5 (JSON has one number type); 5.5 stays refused."""
        if not isinstance(data, dict):
            return data
        ints = {n for n, f in cls.model_fields.items() if _is_int_field(f.annotation)}
        return {
            k: int(v)
            if k in ints and isinstance(v, float) and v.is_integer() and abs(v) <= 2**64
            else v
            for k, v in data.items()
        }
