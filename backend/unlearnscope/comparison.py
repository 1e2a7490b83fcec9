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


def as_run(
    config: Mapping[str, Any], schedule: Sequence[Mapping[str, Any]] | None
) -> dict[str, Any]:
    """The config with the schedule in force (after live edits) in place of the planned
    one: what compare, the leaderboard and a sweep's runs are compared by, so every view
    names the schedule the run followed."""
    out = dict(config)
    if schedule:
        out["schedule"] = [dict(p) for p in schedule]
    return out


def phase_name(schedule: Sequence[Mapping[str, Any]], index: int) -> str:
    """ "ascent", or "phase 2 recovery" when the kind is in the schedule more than once."""
    kind = str(schedule[index].get("kind", "?"))
    repeated = sum(1 for p in schedule if p.get("kind") == kind) > 1
    return f"phase {index + 1} {kind}" if repeated else kind


def diff_rows(
    configs: Sequence[Mapping[str, Any]], diff: Mapping[str, list[Any]] | None = None
) -> list[dict[str, Any]]:
    """What differs between `configs`, a row per setting: {"path", "name", "values"} with
    a value's text per config. Every phase setting counts (lr, batch size, weights, a
    kind's own settings): schedules of the same kinds in the same order differ by those
    settings, a row each ("schedule.0.lr", named "ascent lr"); schedules of other kinds or
    lengths by one "schedule" row (kind and steps per phase), then a row per other setting
    that differs in a phase of the same kind at the same place."""
    diff = config_diff(configs) if diff is None else diff
    rows = [
        {"path": p, "name": p, "values": [_short(v) for v in values]}
        for p, values in diff.items()
        if not p.startswith("schedule.")
    ]
    if not any(p.startswith("schedule.") for p in diff):
        return rows
    schedules = [list(c.get("schedule") or []) for c in configs]
    kinds = [[p.get("kind") for p in s] for s in schedules]
    same_kinds = all(k == kinds[0] for k in kinds)
    if not same_kinds:
        rows.append(
            {
                "path": "schedule",
                "name": "schedule",
                "values": [schedule_text(s) for s in schedules],
            }
        )
    for i in range(max(len(s) for s in schedules)):
        if any(len(s) <= i or s[i].get("kind") != schedules[0][i].get("kind") for s in schedules):
            continue  # a phase some lack, or of another kind: the schedule row names it
        name = phase_name(schedules[0], i)
        prefix = f"schedule.{i}."
        for path, values in diff.items():
            field = path[len(prefix) :]
            if not path.startswith(prefix) or (field == "steps" and not same_kinds):
                continue
            rows.append(
                {"path": path, "name": f"{name} {field}", "values": [_short(v) for v in values]}
            )
    return rows


def diff_labels(
    configs: Sequence[Mapping[str, Any]], diff: Mapping[str, list[Any]] | None = None
) -> list[str]:
    """Per config, what sets it apart, in a few words: "seed=1, ascent lr=0.01" or
    "schedule: ascent 40 → recovery 100" (diff_rows's rows: every phase setting counts)."""
    rows = diff_rows(configs, diff)
    labels = []
    for i in range(len(configs)):
        parts = [
            f"schedule: {r['values'][i]}"
            if r["path"] == "schedule"
            else f"{r['name']}={r['values'][i]}"
            for r in rows
        ]
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
