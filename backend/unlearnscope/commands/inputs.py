"""Command-line input shared by every command: the error type, config files, configs.

The command modules import from here, never from each other.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ..config import RunConfig
from ..presets import PRESETS, ConfigError, build_config

EXIT_BAD_INPUT = 2


class BadInput(Exception):
    """Invalid command-line input; the message names the field and what is allowed."""


def load_config_file(path: Path) -> dict[str, Any]:
    if not path.exists():
        raise BadInput(f"--config {path}: no such file")
    text = path.read_text()
    try:
        if path.suffix.lower() in (".yaml", ".yml"):
            import yaml

            data = yaml.safe_load(text)
        else:
            data = json.loads(text)
    except Exception as err:  # yaml.YAMLError, json.JSONDecodeError
        raise BadInput(f"--config {path}: cannot parse: {err}") from err
    if not isinstance(data, dict):
        raise BadInput(f"--config {path}: expected a mapping of RunConfig fields at the top")
    return data


def config_from(preset: str | None, *overrides: dict[str, Any]) -> RunConfig:
    """The one path from a preset and overrides to a RunConfig for every command
    (`presets.build_config`); BadInput names the preset or every bad field."""
    if preset is not None and preset not in PRESETS:
        raise BadInput(
            f"--preset {preset!r}: unknown preset {preset!r}; choose one of {sorted(PRESETS)}"
        )
    try:
        return build_config(preset, *overrides)
    except ConfigError as err:
        raise BadInput(str(err)) from None
