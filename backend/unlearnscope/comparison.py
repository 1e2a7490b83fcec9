"""Comparing runs: what differs between their configs, seed groups, headline numbers, DER.

Pure functions of configs (plain dicts, as stored) and event headers (plain dicts, as the
event log stores them): the API's compare and leaderboard answers and the CLI's sweep
table all come through here, so every number is defined once.

DER (defence effectiveness rating, BackdoorBench, Wu et al. 2022, eq. in Sec. 4.1):
    DER = (max(0, ASR_before - ASR_after) - max(0, CA_before - CA_after) + 1) / 2
with ASR and CA as fractions, so DER is in [0, 1]: 1 = the backdoor is gone at no cost in
clean accuracy, 0.5 = nothing changed (or a gain paid for in equal accuracy).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

ASR_GONE = 10.0  # percent: "steps until ASR < 10%" in the headline table
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


def der(before: Mapping[str, Any], after: Mapping[str, Any]) -> float | None:
    """DER in [0, 1] from before/after dicts with `asr` and `ca` in percent; None if any
    of the four is missing."""
    vals = [_num(d.get(k)) for d in (before, after) for k in ("asr", "ca")]
    if any(v is None for v in vals):
        return None
    asr_b, ca_b, asr_a, ca_a = (v / 100.0 for v in vals if v is not None)
    return (max(0.0, asr_b - asr_a) - max(0.0, ca_b - ca_a) + 1.0) / 2.0


def headline(events: Iterable[Mapping[str, Any]], wall_time: float | None = None) -> dict[str, Any]:
    """A run's headline numbers from its event headers (evaluation, measurement,
    run_finished, step), oldest first:

    asr_before/after, ca_before/after, ra_before/after (robust accuracy, when measured),
    tar_before/after (median TAR), retention (CA after / CA before, percent), der,
    steps, wall_time (seconds), steps_to_asr10 (first step whose measured ASR, monitor or
    full evaluation, is below 10%; None if never), finished (a run_finished was seen) and,
    for a schedule closed by a relearn phase, asr_retuned/ca_retuned. `after` is the
    purified model (RunFinished.after), else the newest evaluation."""
    evals: list[Mapping[str, Any]] = []
    finished: Mapping[str, Any] | None = None
    steps = 0
    gone: int | None = None
    for e in events:
        kind = e.get("type")
        step = int(e.get("step") or 0)
        if kind == "evaluation":
            evals.append(e)
        elif kind == "run_finished":
            finished = e
        elif kind == "step":
            steps = max(steps, step)
        if kind in ("evaluation", "measurement") and step > 0:
            asr = _num(e.get("asr"))
            if asr is not None and asr < ASR_GONE and (gone is None or step < gone):
                gone = step
    before: Mapping[str, Any] = next((e for e in evals if e.get("label") == "before"), {})
    after: Mapping[str, Any] = evals[-1] if evals and evals[-1] is not before else {}
    retuned: Mapping[str, Any] | None = None
    if finished is not None:
        before = {**before, **(finished.get("before") or {})}
        after = {**after, **(finished.get("after") or {})}
        retuned = finished.get("retuned")
        steps = max(steps, int(finished.get("step") or 0))
        wall_time = _num(finished.get("wall_time"))
    ca_b, ca_a = _num(before.get("ca")), _num(after.get("ca"))
    out: dict[str, Any] = {
        "asr_before": _num(before.get("asr")),
        "asr_after": _num(after.get("asr")),
        "ca_before": ca_b,
        "ca_after": ca_a,
        "ra_before": _num(before.get("ra")),
        "ra_after": _num(after.get("ra")),
        "tar_before": _num(before.get("tar_median")),
        "tar_after": _num(after.get("tar_median")),
        "retention": 100.0 * ca_a / ca_b if ca_a is not None and ca_b else None,
        "der": der(before, after) if after else None,
        "steps": steps,
        "wall_time": wall_time,
        "steps_to_asr10": gone,
        "finished": finished is not None,
    }
    if retuned:
        out["asr_retuned"] = _num(retuned.get("asr"))
        out["ca_retuned"] = _num(retuned.get("ca"))
    return out


def rank_key(row: Mapping[str, Any]) -> tuple[float, float, float]:
    """Leaderboard order: DER high first, then ASR after low, then CA after high; a
    missing number sorts last."""
    inf = float("inf")
    d, asr, ca = (_num(row.get(k)) for k in ("der", "asr_after", "ca_after"))
    return (
        -d if d is not None else inf,
        asr if asr is not None else inf,
        -ca if ca is not None else inf,
    )


def model_label(config: Mapping[str, Any]) -> str:
    """What a backdoored model is, for people: "shapes · small_cnn w8 · badnets 3px →
    class 0, 10% poisoned · seed 0"."""
    data = config.get("data") or {}
    model = config.get("model") or {}
    attack = config.get("attack") or {}
    width = f" w{model['width']}" if model.get("name") == "small_cnn" and "width" in model else ""
    size = f" {attack['trigger_size']}px" if attack.get("kind") == "badnets" else ""
    rate = _num(attack.get("poison_rate"))
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


def _num(value: Any) -> float | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None
