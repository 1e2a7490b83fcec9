"""The result in plain words: before -> after numbers and a one-sentence verdict."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..scores import KEPT_FROM, REMOVED_BELOW, retention
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


def result(facts: RunFacts) -> Result:
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
            None if asr_a is None else asr_a < REMOVED_BELOW,
        ),
        Number(
            "ca",
            "Clean accuracy",
            "correct answers on clean test images",
            get(before, "ca"),
            get(after, "ca"),
            "%",
            None if keep is None else keep >= KEPT_FROM,
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
            None if keep is None else keep >= KEPT_FROM,
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
                _below(post["asr_retuned"], REMOVED_BELOW),
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
                _below(post["asr_qra"], REMOVED_BELOW),
            )
        )
    verdict, tone = _sentence(facts, asr_b, asr_a, keep)
    return Result(numbers, verdict, tone, source)


def _below(value: float | None, limit: float) -> bool | None:
    return None if value is None else value < limit


def _pct(v: float | None) -> str:
    return "–" if v is None else f"{v:.1f}%"


def _sentence(
    facts: RunFacts, asr_b: float | None, asr_a: float | None, keep: float | None
) -> tuple[str, str]:
    prefix = ""
    if facts.status == "failed":
        prefix = "The run failed (why: see above). "
    elif facts.status == "stopped":
        prefix = f"The run was stopped by hand at step {facts.last_step}. "
    elif facts.status == "interrupted":
        prefix = f"The server stopped during the run, at step {facts.last_step}. "
    elif facts.status not in ("completed",):
        prefix = (
            f"The run was still {facts.status} when this report was made (step {facts.last_step}). "
        )
    if asr_b is None or asr_a is None:
        return prefix + "There are no before and after measurements to compare.", (
            "bad" if facts.status == "failed" else "none"
        )
    trig = (
        f"{facts.trigger_words} now sends {_pct(asr_a)} of images to “{facts.target_name}” "
        f"(before: {_pct(asr_b)})"
    )
    if keep is None:
        ca_part = "clean accuracy was not measured"
    elif keep > 100.5:
        ca_part = f"clean accuracy even rose, to {keep:.1f}% of its level"
    elif keep >= KEPT_FROM:
        ca_part = f"clean accuracy kept {keep:.1f}% of its level"
    else:
        ca_part = f"but clean accuracy fell to {keep:.1f}% of its level"
    joiner = "; " if keep is not None and keep < KEPT_FROM else ", and "
    if asr_a < REMOVED_BELOW:
        head, tone = (
            "The backdoor was removed",
            "good" if keep is not None and keep >= KEPT_FROM else "mixed",
        )
    elif asr_a < 0.5 * asr_b:
        head, tone = "The backdoor was weakened, not removed", "mixed"
    else:
        head, tone = "The backdoor was not removed", "bad"
    sentence = f"{prefix}{head}: {trig}{joiner}{ca_part}."
    post = facts.post_purification()
    back = [
        (name, v)
        for name, v in (
            ("the retuning attack", post.get("asr_retuned")),
            ("the reactivation attack (QRA)", post.get("asr_qra")),
        )
        if v is not None
    ]
    if back and asr_a < REMOVED_BELOW:
        woken = [(n, v) for n, v in back if v >= REMOVED_BELOW]
        if woken:
            said = " and ".join(f"{n} brought it back to {_pct(v)}" for n, v in woken)
            sentence += f" But it was only dormant: {said}."
            tone = "mixed"
        else:
            said = " and ".join(f"{_pct(v)} after {n}" for n, v in back)
            sentence += f" It stayed gone when attacked: ASR {said}."
    return sentence, tone


def _at_most(value: float | None, limit: float) -> bool | None:
    """value <= limit, or None when there is no value."""
    return None if value is None else value <= limit
