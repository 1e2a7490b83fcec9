"""The result in plain words: before -> after numbers and the verdict.

The verdict itself (outcome, tone, its sentence) is unlearnscope/verdict.py's, the same the
run page, the run list, the compare view and the leaderboard show; this adds what the
report says around it: how the run ended, and where the trigger now sends images.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..scores import retention
from ..verdict import chance_floor, criteria_of
from .data import RunFacts


@dataclass
class Number:
    key: str
    name: str
    explain: str
    before: float | None
    after: float | None
    unit: str  # "%" or ""
    good: bool | None  # None: no judgement


@dataclass
class Result:
    numbers: list[Number]
    verdict: str
    tone: str  # good | mixed | bad | none
    after_source: str  # where the "after" numbers come from
    outcome: str = "none"  # unlearnscope/verdict.py's outcome (removed, not_removed, ...)
    label: str = ""  # its word ("Removed", "Not removed", ...)
    icon: str = ""


def result(facts: RunFacts) -> Result:
    bar = criteria_of(facts.config)
    broken = chance_floor(len(facts.classes) if facts.started is not None else None)
    before = facts.before()
    after, source = facts.after()
    keep = retention(
        None if before is None else before.get("ca"), None if after is None else after.get("ca")
    )

    def get(row: dict[str, Any] | None, key: str) -> float | None:
        return None if row is None else row.get(key)

    asr_b, asr_a = get(before, "asr"), get(after, "asr")
    numbers = [
        Number(
            "asr",
            "Attack success rate",
            "triggered images classified as the target",
            asr_b,
            asr_a,
            "%",
            None if asr_a is None else asr_a < bar.asr_below,
        ),
        Number(
            "ca",
            "Clean accuracy",
            "correct answers on clean test images",
            get(before, "ca"),
            get(after, "ca"),
            "%",
            None if keep is None else keep >= bar.ca_kept_from and (get(after, "ca") or 0) > broken,
        ),
        Number(
            "ra",
            "Robust accuracy",
            "triggered images still given their true class",
            get(before, "ra"),
            get(after, "ra"),
            "%",
            None,
        ),
        Number(
            "tar",
            "Trigger attention (TAR)",
            "heat on the trigger vs elsewhere; 1 = no preference",
            get(before, "tar_median"),
            get(after, "tar_median"),
            "",
            _at_most(get(after, "tar_median"), 1.0),
        ),
        Number(
            "retention",
            "CA retention",
            "clean accuracy kept, after / before",
            None,
            keep,
            "%",
            None if keep is None else keep >= bar.ca_kept_from,
        ),
    ]
    post = facts.post_purification()
    if "asr_retuned" in post:
        numbers.append(
            Number(
                "asr_retuned",
                "ASR after re-tuning",
                "after the retuning attack: fine-tuning with a few poisoned images",
                asr_a,
                post["asr_retuned"],
                "%",
                _below(post["asr_retuned"], bar.asr_retuned_below),
            )
        )
    if "asr_qra" in post:
        numbers.append(
            Number(
                "asr_qra",
                "ASR after QRA",
                "triggered images plus the reactivation attack's small perturbation",
                asr_a,
                post["asr_qra"],
                "%",
                _below(post["asr_qra"], bar.asr_qra_below),
            )
        )
    judged = facts.verdict()
    sentence = _status_words(facts) + judged["sentence"]
    if asr_b is not None and asr_a is not None:
        sentence += (
            f" {facts.trigger_words[0].upper()}{facts.trigger_words[1:]} now sends "
            f"{_pct(asr_a)} of triggered images to “{facts.target_name}” (before: {_pct(asr_b)})."
        )
    tone = "bad" if facts.status == "failed" and judged["outcome"] == "none" else judged["tone"]
    return Result(
        numbers, sentence, tone, source, judged["outcome"], judged["label"], judged["icon"]
    )


def _below(value: float | None, limit: float) -> bool | None:
    return None if value is None else value < limit


def _pct(v: float | None) -> str:
    return "–" if v is None else f"{v:.1f}%"


def _status_words(facts: RunFacts) -> str:
    """How the run ended, when it did not simply complete."""
    if facts.status == "failed":
        return "The run failed (why: see above). "
    if facts.status == "stopped":
        return f"The run was stopped by hand at step {facts.last_step}. "
    if facts.status == "interrupted":
        return f"The server stopped during the run, at step {facts.last_step}. "
    if facts.status != "completed":
        step = facts.last_step
        return f"The run was still {facts.status} when this report was made (step {step}). "
    return ""


def _at_most(value: float | None, limit: float) -> bool | None:
    """value <= limit, or None when there is no value."""
    return None if value is None else value <= limit
