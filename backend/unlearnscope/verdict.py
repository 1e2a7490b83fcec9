"""The verdict: did the defence remove the backdoor? One definition, read everywhere.

`judge` turns a run's headline numbers (scores.headline: ASR and CA before and after, the
ASR after the retuning attack and after QRA where those ran) and the run's success criteria
(config `success`) into one outcome, a tone and one plain sentence. The run page, the run
list, the compare view, the leaderboard, the report, the clip and presentation mode all show
this verdict as the API computed it; the page never re-implements the rule.

The outcomes, checked in this order:

- ``none``: no ASR before and after yet.
- ``broken``: clean accuracy after is at chance level (at most max(1.5 x chance, chance + 5)
  points, chance = 100 / classes): the model answers at random, so a low ASR means nothing,
  however high its DER.
- ``not_removed``: ASR after at or above `asr_below` and more than half of ASR before.
- ``weakened``: ASR after at or above `asr_below` but at most half of ASR before.
- ``ca_lost``: ASR after below `asr_below`, but CA kept below `ca_kept_from` of its level.
- ``came_back``: removed, but the retuning attack (ASR after re-tuning at or above
  `asr_retuned_below`) or QRA (`asr_qra_below`) brought it back.
- ``removed``: ASR after below `asr_below`, CA kept, and any closing attack stayed below its
  bar. The only outcome that passes.

Torch-free and pure, so the API, the report and the CLI import it freely.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .config.success import SuccessConfig

DEFAULT_CLASSES = 10  # chance level when a run's class count is unknown (older logs)

# outcome -> (passed, tone, label, icon). passed: True only for "removed"; None: no judgement.
OUTCOMES: dict[str, tuple[bool | None, str, str, str]] = {
    "removed": (True, "good", "Removed", "✓"),
    "came_back": (False, "mixed", "Came back", "↺"),
    "ca_lost": (False, "mixed", "Removed, CA lost", "!"),
    "weakened": (False, "mixed", "Weakened", "!"),
    "not_removed": (False, "bad", "Not removed", "✗"),
    "broken": (False, "bad", "Model broken", "✗"),
    "none": (None, "none", "No numbers yet", "…"),
}


def criteria_of(config: Mapping[str, Any] | SuccessConfig | None) -> SuccessConfig:
    """The success criteria of a run: its config's `success` section (a stored config as a
    dict, or the section itself), the defaults where absent or unreadable (older runs)."""
    if isinstance(config, SuccessConfig):
        return config
    raw = (config or {}).get("success")
    if isinstance(raw, Mapping):
        try:
            return SuccessConfig.model_validate(dict(raw))
        except ValueError:
            return SuccessConfig()
    return SuccessConfig()


def chance_floor(classes: int | None) -> float:
    """The clean accuracy (percent) at or below which a model counts as broken: chance
    level (100 / classes) with a margin, max(1.5 x chance, chance + 5)."""
    chance = 100.0 / (classes or DEFAULT_CLASSES)
    return max(1.5 * chance, chance + 5.0)


def judge(
    numbers: Mapping[str, Any],
    criteria: SuccessConfig | None = None,
    classes: int | None = None,
    final: bool = True,
) -> dict[str, Any]:
    """The verdict on a run from its headline numbers (keys of scores.headline:
    asr_before, asr_after, ca_before, ca_after, asr_retuned, asr_qra; missing ones are
    None). `final`: the run has finished (else the sentence says "so far").

    Returns {outcome, passed, tone (good | mixed | bad | none), label, icon, sentence,
    final, criteria (the thresholds used)}."""
    c = criteria or SuccessConfig()
    asr_b, asr_a = num(numbers.get("asr_before")), num(numbers.get("asr_after"))
    ca_b, ca_a = num(numbers.get("ca_before")), num(numbers.get("ca_after"))
    retuned, qra = num(numbers.get("asr_retuned")), num(numbers.get("asr_qra"))
    kept = 100.0 * ca_a / ca_b if ca_a is not None and ca_b else None
    asr_bar, kept_bar = _pct(c.asr_below), _pct(c.ca_kept_from)
    trend = f"ASR {_pct(asr_b)} → {_pct(asr_a)}"

    if asr_b is None or asr_a is None:
        outcome = "none"
        sentence = "No numbers yet: the attack success rate before and after is not measured."
    elif ca_a is not None and ca_a <= chance_floor(classes):
        outcome = "broken"
        n = classes or DEFAULT_CLASSES
        sentence = (
            f"Model broken: clean accuracy {_pct(ca_a)} is chance level for {n} classes, "
            f"so its {trend} means nothing."
        )
    elif asr_a >= c.asr_below:
        outcome = "weakened" if asr_a <= 0.5 * asr_b else "not_removed"
        head = "Weakened, not removed" if outcome == "weakened" else "Not removed"
        sentence = f"{head}: {trend}; the bar is below {asr_bar}."
    elif kept is None or kept < c.ca_kept_from:
        outcome = "ca_lost"
        cost = (
            "clean accuracy was not measured"
            if kept is None
            else f"clean accuracy kept only {_pct(kept)} of its level (the bar: {kept_bar})"
        )
        sentence = f"Removed, but at a cost: {trend}, and {cost}."
    else:
        back = [
            f"{name} brought it back to {_pct(v)} (the bar: below {_pct(bar)})"
            for name, v, bar in (
                ("re-tuning", retuned, c.asr_retuned_below),
                ("QRA", qra, c.asr_qra_below),
            )
            if v is not None and v >= bar
        ]
        if back:
            outcome = "came_back"
            sentence = f"Removed, but it came back: {trend}, then {' and '.join(back)}."
        else:
            outcome = "removed"
            held = [
                f"{_pct(v)} after {name}"
                for name, v in (("re-tuning", retuned), ("QRA", qra))
                if v is not None
            ]
            stayed = f"; it stayed gone when attacked ({', '.join(held)})" if held else ""
            sentence = f"Removed: {trend}, clean accuracy kept at {_pct(kept)}{stayed}."
    passed, tone, label, icon = OUTCOMES[outcome]
    if not final and outcome != "none":
        sentence = f"So far, {sentence[0].lower()}{sentence[1:]}"
        passed = None
    return {
        "outcome": outcome,
        "passed": passed,
        "tone": tone,
        "label": label,
        "icon": icon,
        "sentence": sentence,
        "final": final,
        "criteria": c.model_dump(mode="json"),
    }


def num(value: Any) -> float | None:
    """A number from a stored value (None for a missing, boolean or non-numeric one)."""
    if value is None or isinstance(value, bool):
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _pct(v: float | None) -> str:
    return "–" if v is None else f"{v:.1f}%"
