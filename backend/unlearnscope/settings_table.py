"""The "Run settings (RunConfig)" table of docs/settings.md, made from RunConfig's JSON schema
(and every attack's and phase kind's settings model): the
labels, units and hints are config/'s Field titles, "unit" keys and descriptions (the
same the page's form shows and /docs lists).

    python -m unlearnscope.settings_table            # print the table
    python -m unlearnscope.settings_table --write docs/settings.md   # replace it between markers
"""

from __future__ import annotations

import json
from typing import Any

from .config import RunConfig
from .generated import command, replace_between
from .ml.attacks.registry import ATTACKS
from .ml.attacks.settings import attack_settings_class
from .ml.kinds.registry import PHASE_KINDS
from .ml.kinds.settings import settings_schema

START = (
    "<!-- settings-table: made by "
    "`python -m unlearnscope.settings_table --write docs/settings.md` -->"
)
END = "<!-- /settings-table -->"


def _value(v: Any) -> str:
    if v is None:
        return "none"
    if isinstance(v, str):
        return f"`{v}`"
    if isinstance(v, list):
        return ", ".join(_value(x) for x in v)
    return json.dumps(v)


def _node(prop: dict[str, Any]) -> tuple[dict[str, Any], bool]:
    if "anyOf" in prop:
        return next(a for a in prop["anyOf"] if a.get("type") != "null"), True
    return prop, False


def _allowed(prop: dict[str, Any]) -> str:
    node, nullable = _node(prop)
    if node.get("type") == "array":
        node = node.get("prefixItems", [{}])[0]
    if "enum" in node:
        text = ", ".join(_value(v) for v in node["enum"])
    elif node.get("type") == "boolean":
        text = "true, false"
    elif node.get("type") == "string":
        text = "text"
    else:
        lo = (
            f"≥ {_value(node['minimum'])}"
            if "minimum" in node
            else f"> {_value(node['exclusiveMinimum'])}"
            if "exclusiveMinimum" in node
            else ""
        )
        hi = (
            f"≤ {_value(node['maximum'])}"
            if "maximum" in node
            else f"< {_value(node['exclusiveMaximum'])}"
            if "exclusiveMaximum" in node
            else ""
        )
        text = " and ".join(t for t in (lo, hi) if t)
    if nullable:
        text = f"{text}, or none" if text else "none"
    return text


def _rows(schema: dict[str, Any], defs: dict[str, Any], prefix: str) -> list[str]:
    rows = []
    for key, prop in schema["properties"].items():
        if "$ref" in prop:
            sub = defs[prop["$ref"].split("/")[-1]]
            rows += _rows(sub, defs, f"{prefix}{key}.")
            continue
        if key == "schedule":
            phase = defs[prop["items"]["$ref"].split("/")[-1]]
            rows += _rows(phase, defs, "schedule[i].")
            continue
        default = _value(prop["default"]) if "default" in prop else "required"
        unit = prop.get("unit")
        meaning = prop.get("description", "")
        cells = [
            f"`{prefix}{key}`",
            prop.get("title", key),
            default,
            _allowed(prop),
            f"[{unit}]" if unit else "",
            meaning,
        ]
        rows.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
    return rows


def _settings_rows(prefix: str, schemas: dict[str, dict[str, Any] | None]) -> list[str]:
    """`<prefix><field>` of every settings model (an attack's, a phase kind's), its name in
    the label."""
    rows = []
    for name, schema in schemas.items():
        if schema is None:
            continue
        for row in _rows(schema, schema.get("$defs", {}), prefix):
            cells = row.split(" | ")
            cells[1] = f"{cells[1]} ({name})"
            rows.append(" | ".join(cells))
    return rows


def settings_table() -> str:
    schema = RunConfig.model_json_schema()
    lines = [
        "| field | label | default | allowed | unit | hint |",
        "|---|---|---|---|---|---|",
        *_rows(schema, schema["$defs"], ""),
        *_settings_rows(
            "attack.settings.",
            {a: attack_settings_class(a).model_json_schema() for a in ATTACKS},
        ),
        *_settings_rows("schedule[i].settings.", {k: settings_schema(k) for k in PHASE_KINDS}),
    ]
    return "\n".join(lines) + "\n"


def replace_in(text: str) -> str:
    """`text` with the part between the markers made anew."""
    return replace_between(text, START, END, settings_table())


def main(argv: list[str] | None = None) -> int:
    return command((__doc__ or "").splitlines()[0], settings_table, START, END, argv)


if __name__ == "__main__":
    raise SystemExit(main())
