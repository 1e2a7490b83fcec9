"""Sweeps: one base config (preset + overrides) and a grid over some of its fields.

    name: three defences x three seeds
    preset: demo
    base: {monitor: {eval_every: 5}}
    grid:
      schedule: [demo, paper, [{kind: recovery, steps: 60, lr: 0.005}]]
      seed: [0, 1, 2]

Grid keys are dotted paths into a RunConfig ("seed", "defense.forget_size",
"schedule.0.lr"); the cells are the Cartesian product of the value lists, in the order
given (the last key varies fastest). A `schedule` value may be a preset's name: that
preset's schedule. Every cell is validated before any run exists (`expand`); a bad one is
named by its number and values, with the field that is wrong. The API (POST /api/sweeps)
and the CLI (`unlearnscope sweep`) both expand through here.
"""

from __future__ import annotations

import copy
import itertools
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from .comparison import diff_labels, schedule_text
from .config import RunConfig
from .presets import PRESETS, ConfigError, build_config

MAX_GRID_VALUES = 1000  # values per grid key (the server's sweep size limit is lower)
MAX_NAME = 100  # characters of a run's name (RunConfig.name)


class SweepSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field("sweep", min_length=1, max_length=80, title="Sweep name")
    preset: str | None = Field(None, description="start every run from this preset")
    base: dict[str, Any] = Field(
        default_factory=dict, description="RunConfig fields over the preset, for every run"
    )
    grid: dict[str, list[Any]] = Field(
        min_length=1,
        description="dotted RunConfig path -> the values it takes; cells = all combinations",
    )


class SweepError(ValueError):
    """A sweep that cannot be made: lines for people, the bad fields, the cell (or None)."""

    def __init__(self, lines: list[str], fields: list[str], cell: int | None = None) -> None:
        super().__init__("invalid sweep:\n  " + "\n  ".join(lines))
        self.lines = lines
        self.fields = fields
        self.cell = cell


@dataclass
class SweepCell:
    index: int  # 0-based, in grid order
    values: dict[str, Any]  # path -> value of this cell (a schedule preset as its name)
    label: str  # "schedule=demo, seed=1"
    config: RunConfig


def cell_count(spec: SweepSpec) -> int:
    n = 1
    for values in spec.grid.values():
        n *= len(values)
    return n


def set_path(data: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    """A copy of `data` with `value` at dotted `path` (dicts made as needed; a number
    indexes a list, such as schedule.0.lr)."""
    out = copy.deepcopy(data)
    node: Any = out
    keys = path.split(".")
    for i, key in enumerate(keys):
        last = i == len(keys) - 1
        if isinstance(node, list):
            if not key.isdigit() or int(key) >= len(node):
                raise KeyError(f"{'.'.join(keys[:i])} has no item {key}")
            if last:
                node[int(key)] = value
            else:
                node = node[int(key)]
        elif last:
            node[key] = value
        else:
            if not isinstance(node.get(key), (dict, list)):
                node[key] = {}
            node = node[key]
    return out


def _value(path: str, value: Any) -> Any:
    """A `schedule` given as a preset's name is that preset's schedule."""
    if path == "schedule" and isinstance(value, str):
        if value not in PRESETS:
            raise KeyError(
                f"no preset {value!r} to take a schedule from; presets: {sorted(PRESETS)}"
            )
        return copy.deepcopy(PRESETS[value]["schedule"])
    return value


def value_text(path: str, value: Any, position: int) -> str:
    """A grid value in a run name, alone: numbers and words as they are, a schedule as its
    phases ("ascent 60 → recovery 40"), another list or dict as #k (its place in the
    grid's list, from 1). `value_texts` sets a key's values apart from each other."""
    if path == "schedule" and isinstance(value, list) and all(isinstance(p, dict) for p in value):
        return schedule_text(value)
    if isinstance(value, (list, dict)):
        return f"#{position + 1}"
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def value_texts(path: str, values: list[Any]) -> list[str]:
    """The texts of one grid key's values in run names, no two alike: value_text's, and
    where two read the same (schedules of the same phases that differ in a setting, such
    as a phase's lr) what sets each apart, every phase setting counted
    (comparison.diff_labels: "ascent lr=0.01"); values that still read alike get #k."""
    texts = [value_text(path, v, k) for k, v in enumerate(values)]
    if len(set(texts)) < len(texts) and path == "schedule":
        plans = []
        for v in values:
            try:
                plans.append({"schedule": _value(path, v)})
            except KeyError:
                plans.append({"schedule": v})
        apart = [label.removeprefix("schedule: ") for label in diff_labels(plans)]
        texts = [
            t if isinstance(v, str) else a for t, a, v in zip(texts, apart, values, strict=True)
        ]
    if len(set(texts)) < len(texts):
        texts = [f"{t} #{k + 1}" if texts.count(t) > 1 else t for k, t in enumerate(texts)]
    return texts


def run_name(sweep: str, label: str, index: int) -> str:
    """ "sweep [schedule=tiny, seed=1]" within 100 characters: the sweep's name gives way
    first; a label too long to fit is cut, with the cell's number, so names stay apart."""
    tail = f" [{label}]"
    if len(tail) > MAX_NAME - 10:
        tail = f" [#{index + 1}: {label[: MAX_NAME - 20]}…]"
    return sweep[: MAX_NAME - len(tail)].rstrip() + tail


def expand(spec: SweepSpec, max_cells: int | None = None) -> list[SweepCell]:
    """Every cell's RunConfig, validated; SweepError for the first bad cell (or grid)."""
    for path, given in spec.grid.items():
        if not path or any(not part for part in path.split(".")):
            raise SweepError([f"grid: {path!r} is not a dotted field path"], [f"grid.{path}"])
        if not given:
            raise SweepError([f"grid.{path}: give at least one value"], [f"grid.{path}"])
        if len(given) > MAX_GRID_VALUES:
            raise SweepError([f"grid.{path}: at most {MAX_GRID_VALUES} values"], [f"grid.{path}"])
    n = cell_count(spec)
    if max_cells is not None and n > max_cells:
        raise SweepError([f"grid: {n} cells; at most {max_cells} runs per sweep"], ["grid"])
    try:
        base = build_config(spec.preset, spec.base).model_dump(mode="json")
    except ConfigError as err:
        fields = ["preset" if f == "preset" else f"base.{f}" for f in err.fields]
        lines = [ln if ln.startswith("preset") else f"base.{ln}" for ln in err.lines]
        raise SweepError(lines, fields) from None
    paths = list(spec.grid)
    texts = {p: value_texts(p, spec.grid[p]) for p in paths}
    cells = []
    choices = [list(enumerate(spec.grid[p])) for p in paths]
    for index, combo in enumerate(itertools.product(*choices)):
        values = {p: v for p, (_, v) in zip(paths, combo, strict=True)}
        label = ", ".join(f"{p}={texts[p][k]}" for p, (k, _) in zip(paths, combo, strict=True))
        where = f"cell {index + 1} ({label})"
        raw = base
        try:
            for p, v in values.items():
                raw = set_path(raw, p, _value(p, v))
        except (KeyError, TypeError) as err:
            msg = err.args[0] if err.args else str(err)
            raise SweepError([f"{where}: {msg}"], [next(iter(values))], index) from None
        if values.get("attack.kind", base["attack"]["kind"]) != base["attack"]["kind"]:
            # another attack than the base's: its settings start at their defaults, but
            # for those the grid sets (the base's belong to the base's attack)
            settings = raw["attack"]["settings"].items()
            raw["attack"]["settings"] = {
                k: v for k, v in settings if f"attack.settings.{k}" in values
            }
        raw["name"] = run_name(spec.name, label, index)
        try:
            config = build_config(None, raw)
        except ConfigError as err:
            raise SweepError([f"{where}: {ln}" for ln in err.lines], err.fields, index) from None
        cells.append(SweepCell(index, values, label, config))
    return cells
