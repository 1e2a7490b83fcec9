"""Scores: every number that judges a defence, defined once.

The engine's summaries, `reproduce`, the comparison and leaderboard, the report, the
sweep table and the API all read these; the page shows what the API computed.

- ASR (attack success rate), CA (clean accuracy), RA (robust accuracy) in percent, as
  measured (ml/metrics.py).
- Retention = 100 * CA_after / CA_before: the share of clean accuracy a defence kept.
- DER (defence effectiveness rating, BackdoorBench, Wu et al. 2022, eq. in Sec. 4.1):
      DER = (max(0, ASR_before - ASR_after) - max(0, CA_before - CA_after) + 1) / 2
  with ASR and CA as fractions, so DER is in [0, 1]: 1 = the backdoor is gone at no cost
  in clean accuracy, 0.5 = nothing changed (or a gain paid for in equal accuracy).
- DER after re-tuning: DER with the ASR after the retuning attack (Min et al., NeurIPS
  2024) in place of the purified model's: a defence whose backdoor comes back scores low.
- The bar a defence must clear: the run's success criteria (config `success`: ASR below
  10%, retention at least 95%, and below 20% after the closing attacks by default); the
  verdict (verdict.py) judges a headline against them. REMOVED_BELOW and KEPT_FROM are
  those defaults.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from .config.success import SuccessConfig
from .verdict import judge, num

REMOVED_BELOW = SuccessConfig().asr_below  # ASR percent under which the backdoor is removed
KEPT_FROM = SuccessConfig().ca_kept_from  # CA retention percent from which CA counts as kept


def retention(ca_before: float | None, ca_after: float | None) -> float | None:
    """CA after as a percentage of CA before; None if either is missing or CA before is 0."""
    if ca_before is None or ca_after is None or not ca_before:
        return None
    return 100.0 * ca_after / ca_before


def der(before: Mapping[str, Any], after: Mapping[str, Any]) -> float | None:
    """DER in [0, 1] from before/after dicts with `asr` and `ca` in percent; None if any
    of the four is missing."""
    vals = [num(d.get(k)) for d in (before, after) for k in ("asr", "ca")]
    if any(v is None for v in vals):
        return None
    asr_b, ca_b, asr_a, ca_a = (v / 100.0 for v in vals if v is not None)
    return (max(0.0, asr_b - asr_a) - max(0.0, ca_b - ca_a) + 1.0) / 2.0


def der_retuned(
    before: Mapping[str, Any], after: Mapping[str, Any], asr_retuned: Any
) -> float | None:
    """DER after re-tuning: DER with the ASR the retuning attack brought back in place of
    the purified model's, and the purified model's CA (the attacker's re-tuning is not the
    defence's cost). None without a re-tuned ASR."""
    if num(asr_retuned) is None:
        return None
    return der(before, {**after, "asr": num(asr_retuned)})


def headline(
    events: Iterable[Mapping[str, Any]],
    wall_time: float | None = None,
    criteria: SuccessConfig | None = None,
) -> dict[str, Any]:
    """A run's headline numbers from its event headers (run_started, evaluation,
    measurement, run_finished, step), oldest first, and its verdict against `criteria`
    (the run's config `success`; the defaults when None):

    asr_before/after, ca_before/after, ra_before/after (robust accuracy, when measured),
    tar_before/after (median TAR), retention (CA after / CA before, percent), der,
    steps, wall_time (seconds), steps_to_asr10 (first step whose measured ASR, monitor or
    full evaluation, is below 10%; None if never), finished (a run_finished was seen) and,
    for a schedule closed by a relearn phase, asr_retuned/ca_retuned and der_retuned (DER
    with the re-tuned ASR); with a qra phase, asr_qra (ASR with the reactivating
    perturbation) and qra_alone (the target rate of the perturbation alone). `after` is
    the purified model (RunFinished.after), else the newest evaluation. `verdict`:
    verdict.judge on these numbers (chance level from run_started's classes)."""
    evals: list[Mapping[str, Any]] = []
    finished: Mapping[str, Any] | None = None
    steps = 0
    gone: int | None = None
    classes: int | None = None
    for e in events:
        kind = e.get("type")
        step = int(e.get("step") or 0)
        if kind == "run_started" and e.get("classes"):
            classes = len(e["classes"])
        elif kind == "evaluation":
            evals.append(e)
        elif kind == "run_finished":
            finished = e
        elif kind == "step":
            steps = max(steps, step)
        if kind in ("evaluation", "measurement") and step > 0:
            asr = num(e.get("asr"))
            if asr is not None and asr < REMOVED_BELOW and (gone is None or step < gone):
                gone = step
    # the backdoored model, measured with the recovered trigger when a phase recovered one
    # (like with like: the trigger was unknown before)
    before: Mapping[str, Any] = next(
        (e for e in evals if e.get("label") == "before (recovered trigger)"),
        next((e for e in evals if e.get("label") == "before"), {}),
    )
    after: Mapping[str, Any] = evals[-1] if evals and evals[-1] is not before else {}
    retuned: Mapping[str, Any] | None = None
    if finished is not None:
        before = {**before, **(finished.get("before") or {})}
        after = {**after, **(finished.get("after") or {})}
        retuned = finished.get("retuned")
        steps = max(steps, int(finished.get("step") or 0))
        wall_time = num(finished.get("wall_time"))
    ca_b, ca_a = num(before.get("ca")), num(after.get("ca"))
    out: dict[str, Any] = {
        "asr_before": num(before.get("asr")),
        "asr_after": num(after.get("asr")),
        "ca_before": ca_b,
        "ca_after": ca_a,
        "ra_before": num(before.get("ra")),
        "ra_after": num(after.get("ra")),
        "tar_before": num(before.get("tar_median")),
        "tar_after": num(after.get("tar_median")),
        "retention": retention(ca_b, ca_a),
        "der": der(before, after) if after else None,
        "steps": steps,
        "wall_time": wall_time,
        "steps_to_asr10": gone,
        "finished": finished is not None,
    }
    if retuned:
        out["asr_retuned"] = num(retuned.get("asr"))
        out["ca_retuned"] = num(retuned.get("ca"))
        out["der_retuned"] = der_retuned(before, after, retuned.get("asr")) if after else None
    reactivated = finished.get("reactivated") if finished is not None else None
    if reactivated:
        out["asr_qra"] = num(reactivated.get("asr"))
        out["qra_alone"] = num(reactivated.get("adversarial"))
    out["verdict"] = judge(out, criteria, classes, final=finished is not None)
    return out


MEASURED = ("asr", "ca", "ra", "tar_median")  # what a measurement or an evaluation may carry


def scores_at_steps(events: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The numbers at every step something was measured, from a run's event headers: the
    newest value of each measure at or before the step (a full evaluation wins over a
    monitor measurement of the same step), and the retention and DER so far against the
    backdoored model (the "before" evaluation). What the compare view shows at its slider.

    Each entry: {step, asr, ca, ra, tar, retention, der}, in step order, one per step."""
    before: Mapping[str, Any] = {}
    points: list[tuple[int, int, Mapping[str, Any]]] = []  # (step, full evaluation?, event)
    for e in events:
        kind = e.get("type")
        if kind == "evaluation" and e.get("label") == "before":
            before = e
        if kind in ("evaluation", "measurement"):
            points.append((int(e.get("step") or 0), int(kind == "evaluation"), e))
    points.sort(key=lambda p: (p[0], p[1]))
    latest: dict[str, float] = {}
    out: list[dict[str, Any]] = []
    for step, _, e in points:
        latest.update({k: v for k in MEASURED if (v := num(e.get(k))) is not None})
        now = {"asr": latest.get("asr"), "ca": latest.get("ca")}
        row = {
            "step": step,
            **now,
            "ra": latest.get("ra"),
            "tar": latest.get("tar_median"),
            "retention": retention(num(before.get("ca")), now["ca"]),
            "der": der(before, now) if before else None,
        }
        if out and out[-1]["step"] == step:
            out[-1] = row
        else:
            out.append(row)
    return out


def ranked_by(rows: Iterable[Mapping[str, Any]]) -> str:
    """The leaderboard's first key: "der_retuned" (post-purification robustness) when any
    row measured it, else "der"."""
    return "der_retuned" if any(num(r.get("der_retuned")) is not None for r in rows) else "der"


def rank_key(row: Mapping[str, Any], first: str = "der") -> tuple[float, float, float, float]:
    """Leaderboard order: `first` (DER, or DER after re-tuning: `ranked_by`) high first,
    then DER high, then ASR after low, then CA after high; a missing number sorts last."""
    inf = float("inf")
    top, d, asr, ca = (num(row.get(k)) for k in (first, "der", "asr_after", "ca_after"))
    return (
        -top if top is not None else inf,
        -d if d is not None else inf,
        asr if asr is not None else inf,
        -ca if ca is not None else inf,
    )
