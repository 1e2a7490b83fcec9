"""Comparing runs: what differs between their configs, seed groups, labels for people.

Pure functions of configs (plain dicts, as stored). The numbers compared (headline, DER,
retention, the leaderboard's order) are scores.py's.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from .verdict import num

IGNORED_PATHS = ("name",)  # never a difference worth naming: the legend shows the name
MISSING = None  # a path one config has and another has not (schedules of other lengths)


def flatten(value: Any, prefix: str = "") -> dict[str, Any]:
    """{"a.b": 1, "schedule.0.kind": "ascent", ...}: every leaf of a config by dotted path.

    Dicts and lists are walked (list items by index); tuples are leaves (mean, std)."""
    out: dict[str, Any] = {}
    if isinstance(value, Mapping):
        for k, v in value.items():
            out.update(flatten(v, f"{prefix}{k}."))
    elif isinstance(value, list) and value and all(isinstance(v, Mapping) for v in value):
        for i, v in enumerate(value):
            out.update(flatten(v, f"{prefix}{i}."))
        out[f"{prefix}length"] = len(value)
    else:
        out[prefix[:-1]] = list(value) if isinstance(value, tuple) else value
    return out


def config_diff(configs: Sequence[Mapping[str, Any]]) -> dict[str, list[Any]]:
    """The config fields that are not equal across `configs`: {path: [value per config]}.

    Paths are dotted ("schedule.0.lr", "seed"; "schedule.length" for schedules of other
    lengths); a path a config lacks has None there. The run name is left out. Sorted by
    path; empty when there are fewer than two configs or they are all equal."""
    if len(configs) < 2:
        return {}
    flat = [flatten(dict(c)) for c in configs]
    paths = sorted(set().union(*flat))
    out: dict[str, list[Any]] = {}
    for path in paths:
        if path in IGNORED_PATHS:
            continue
        values = [f.get(path, MISSING) for f in flat]
        if any(_canon(v) != _canon(values[0]) for v in values[1:]):
            out[path] = values
    return out


def schedule_text(schedule: Sequence[Mapping[str, Any]] | None) -> str:
    """ "ascent 40 → recovery 100": a schedule in a few words."""
    if not schedule:
        return "-"
    return " → ".join(f"{p.get('kind', '?')} {p.get('steps', '?')}" for p in schedule)


def diff_labels(
    configs: Sequence[Mapping[str, Any]], diff: Mapping[str, list[Any]] | None = None
) -> list[str]:
    """Per config, what sets it apart, in a few words: "seed=1, schedule: ascent 40 → ...".

    Differences inside the schedule are named by the schedule itself (a list of changed
    fields would be longer than the schedule)."""
    diff = config_diff(configs) if diff is None else diff
    plain = [p for p in diff if not p.startswith("schedule.")]
    in_schedule = any(p.startswith("schedule.") for p in diff)
    labels = []
    for i, cfg in enumerate(configs):
        parts = [f"{p}={_short(diff[p][i])}" for p in plain]
        if in_schedule:
            parts.append(f"schedule: {schedule_text(cfg.get('schedule'))}")
        labels.append(", ".join(parts) if parts else "same settings")
    return labels


def seed_groups(configs: Mapping[str, Mapping[str, Any]]) -> list[list[str]]:
    """Runs whose configs differ only in `seed` (and name): groups of two or more ids, in
    the order given, each group's seeds all different."""
    groups: dict[str, list[str]] = {}
    for run_id, cfg in configs.items():
        rest = {k: v for k, v in cfg.items() if k not in ("seed", "name")}
        groups.setdefault(_canon(rest), []).append(run_id)
    out = []
    for ids in groups.values():
        seeds = {configs[i].get("seed") for i in ids}
        if len(ids) >= 2 and len(seeds) == len(ids):
            out.append(ids)
    return out


def model_label(config: Mapping[str, Any]) -> str:
    """What a backdoored model is, for people: "shapes · small_cnn w8 · badnets 3px →
    class 0, 10% poisoned · seed 0"."""
    data = config.get("data") or {}
    model = config.get("model") or {}
    attack = config.get("attack") or {}
    if model.get("source", "train") != "train":  # the user's model: its file says what it is
        file = Path(str(model.get("file", "?"))).name
        trigger = "trigger unknown" if attack.get("known") is False else "trigger known"
        where = "BackdoorBench file" if model["source"] == "backdoorbench" else "your file"
        return f"{data.get('name', '?')} · {model.get('name', '?')} from {where} {file} · {trigger}"
    width = f" w{model['width']}" if model.get("name") == "small_cnn" and "width" in model else ""
    settings = attack.get("settings") or {}
    size = f" {settings['trigger_size']}px" if "trigger_size" in settings else ""
    rate = num(attack.get("poison_rate"))
    poisoned = f", {100 * rate:g}% poisoned" if rate is not None else ""
    return (
        f"{data.get('name', '?')} · {model.get('name', '?')}{width} · "
        f"{attack.get('kind', '?')}{size} → class {attack.get('target_class', '?')}{poisoned}"
        f" · seed {config.get('seed', '?')}"
    )


def _canon(value: Any) -> str:
    return json.dumps(value, sort_keys=True, default=str)


def _short(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:g}"
    if value is None:
        return "-"
    return str(value) if not isinstance(value, (dict, list)) else _canon(value)
