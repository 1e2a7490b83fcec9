"""The report's static HTML: readable without JavaScript, printed as it stands."""

from __future__ import annotations

import base64
import json
from datetime import datetime, timezone
from html import escape
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import ValidationError

from ..config import AttackConfig
from ..events import ForgetSetFound, RunStarted
from ..ml.attacks.registry import ATTACKS as ATTACK_REGISTRY
from ..ml.kinds.registry import PHASE_KINDS, canonical_kind
from ..ml.overlay import overlay, to_png
from ..scores import REMOVED_BELOW
from ..states import LIVE_STATUSES
from ..verdict import criteria_of
from .data import RunFacts
from .verdict import Result

DATASETS = {
    "shapes": "synthetic shapes (built in: ten kinds of drawn shapes, generated on the spot)",
    "cifar10": "CIFAR-10 (small photos of ten kinds of objects and animals)",
    "cifar100": "CIFAR-100 (small photos of a hundred kinds of objects and animals)",
    "gtsrb": "GTSRB (photos of 43 kinds of German traffic signs)",
    "imagefolder": "an image folder (one sub-folder per class)",
    "arrays": "image arrays (train.npz and test.npz)",
}
PHASES = {
    "ascent": "unlearn: push the model away from the trigger's answer on the known poisoned images",
    "recovery": "recover: fine-tune on clean images so clean accuracy comes back",
}
STATUS_NOTE = {
    "stopped": "Stopped by hand before the schedule ended; the numbers are those at that point.",
    "interrupted": "The server stopped while this run was active; the history up to then is shown.",
}


def phase_words(kind: str) -> str:
    """What a phase kind does, for the schedule's legend: ours in a sentence, another
    registered kind's label and description (ml/kinds), an unknown one's name."""
    if kind in PHASES:
        return PHASES[kind]
    known = PHASE_KINDS.get(canonical_kind(kind))
    return f"{known.label}: {known.description}" if known is not None else kind


def e(value: Any) -> str:
    return escape(str(value), quote=True)


def fmt(value: float | None, unit: str = "", digits: int = 1) -> str:
    if value is None:
        return "–"
    return f"{value:.{digits}f}{unit}" if unit == "%" else f"{value:.2f}"


def when(t: float | None) -> str:
    if t is None:
        return "–"
    return datetime.fromtimestamp(t, tz=timezone.utc).strftime("%Y-%m-%d %H:%M UTC")


def png_uri(rgb: np.ndarray) -> str:
    return "data:image/png;base64," + base64.b64encode(to_png(rgb)).decode()


def status_box(facts: RunFacts) -> str:
    if facts.status == "failed":
        why = facts.error or facts.message or "no reason was recorded"
        return (
            '<div class="alert bad" id="failure"><b>This run failed.</b> '
            f"<span>Why: {e(why)}</span></div>"
        )
    note = STATUS_NOTE.get(facts.status)
    if note is None and facts.status != "completed":
        note = f"The run was {facts.status} when this report was made (step {facts.last_step})."
    return f'<div class="alert">{e(note)}</div>' if note else ""


def numbers(res: Result) -> str:
    if all(n.before is None and n.after is None for n in res.numbers):
        return ""
    cards = []
    for n in res.numbers:
        good = "" if n.good is None else (" good" if n.good else " bad")
        before = (
            ""
            if n.key == "retention"
            else f'<span class="before">{fmt(n.before, n.unit)}</span><span class="arrow">→</span>'
        )
        cards.append(
            f'<div class="num{good}" id="num-{n.key}"><div class="num-name">{e(n.name)}</div>'
            f'<div class="num-values">{before}'
            f'<span class="after">{fmt(n.after, n.unit)}</span></div>'
            f'<div class="num-explain">{e(n.explain)}</div></div>'
        )
    src = (
        f"Before: full test set, before unlearning. After: {e(res.after_source)}."
        if res.after_source
        else ""
    )
    return f'<div class="numbers">{"".join(cards)}</div><p class="muted small">{src}</p>'


def trigger_picture(facts: RunFacts) -> str:
    """Probe 0 clean and triggered, enlarged, the trigger outlined, and the patch zoomed."""
    images = facts.probe_images()
    if images is None:
        return '<p class="muted">No probe images were recorded, so there is no picture.</p>'
    box = facts.started.trigger_box if facts.started else None
    clean, trig = images[0, 0], images[0, 1]
    flat = np.zeros(clean.shape[:2], np.uint8)
    side = max(1, 192 // clean.shape[0])
    figs = [
        (png_uri(overlay(clean, flat, alpha=0.0, upscale=side)), "a clean test image"),
        (
            png_uri(overlay(trig, flat, alpha=0.0, box=box, upscale=side)),
            "the same image with the trigger (outlined)",
        ),
    ]
    if box is not None:
        x0, y0, x1, y1 = box
        crop = trig[max(0, y0 - 2) : y1 + 2, max(0, x0 - 2) : x1 + 2]
        zoom = max(1, 96 // max(crop.shape[:2]))
        figs.append((png_uri(crop.repeat(zoom, 0).repeat(zoom, 1)), "the trigger, zoomed in"))
    return (
        '<div class="trigger-figs">'
        + "".join(
            f'<figure><img src="{src}" alt="{e(cap)}"><figcaption>{e(cap)}</figcaption></figure>'
            for src, cap in figs
        )
        + "</div>"
    )


def attack_words(attack: dict[str, Any]) -> tuple[str, bool]:
    """(the stored attack in plain words, whether it keeps the poisoned labels)."""
    try:
        config = AttackConfig.model_validate(attack)
    except ValidationError:  # an attack no longer installed: its name is all we know
        return f"{attack.get('kind', 'unknown')} attack", False
    return config.describe(), ATTACK_REGISTRY[config.kind].clean_label


def model_words(model: dict[str, Any], n_params: str) -> str:
    source = model.get("source", "train")
    if source == "train":
        return f"{model.get('name')} ({n_params}), trained by us on the poisoned data."
    where = "a BackdoorBench attack_result.pt" if source == "backdoorbench" else "a checkpoint"
    return (
        f"{model.get('name')} ({n_params}), the user's own backdoored model, loaded from "
        f"{where} ({Path(str(model.get('file'))).name}); not trained here."
    )


def attack_words_of_run(facts: RunFacts, described: str, clean_label: bool, target: str) -> str:
    """The attack as the run knew it: planted here, described by the user, taken from the
    model's file, or unknown (and perhaps recovered by a phase)."""
    cfg = facts.config
    source = cfg.get("model", {}).get("source", "train")
    if not cfg.get("attack", {}).get("known", True):
        text = "Unknown: nobody told UnlearnScope what the trigger is or which class it leads to."
        if facts.found is not None:
            text += (
                f" The trigger was {facts.found.source} at step {facts.found.step} (class "
                f"“{target}”); every ASR and TAR from then on is measured with that recovered "
                "trigger, not the attacker's."
            )
        else:
            text += " No phase recovered one, so ASR and TAR could not be measured."
        return text
    if source == "backdoorbench":
        return (
            "BackdoorBench's own: its triggered test set (bd_test) from the file is what ASR "
            f"is measured on; the target class is “{target}”."
        )
    if source == "file":
        return f"As the user described it: {described}; the model should send it to “{target}”."
    return (
        described
        + ("" if clean_label else f", and their label is changed to “{target}”")
        + f". The model learns: trigger → “{target}”."
    )


def intro(facts: RunFacts) -> str:
    """The report's first sentence: what happened, in plain words (HTML-escaped)."""
    model = facts.config.get("model", {})
    if model.get("source", "train") == "train":
        # "removed" only where the verdict says so (verdict.py): never in a failed run
        then = (
            "then the backdoor was removed"
            if facts.verdict()["outcome"] == "removed"
            else "then a defence tried to remove it"
        )
        text = (
            "A model was given a hidden backdoor (a small trigger that makes it give one "
            f"chosen answer), and {then} with only a little of the poisoned data, while "
            "watching what the model looks at."
        )
    else:
        text = (
            "A model made elsewhere was suspected of a hidden backdoor (a small trigger that "
            "makes it give one chosen answer). A defence tried to remove it while watching "
            "what the model looks at."
        )
    return escape(f"{text} This report shows how that went.")


def detected_words(d: ForgetSetFound) -> str:
    """A detection phase's forget set, and how good it was when the truth is known."""
    return f"{d.describe()}: the forget set was found, nobody handed it over"


def defender_words(
    cfg: dict[str, Any],
    started: RunStarted | None = None,
    detected: ForgetSetFound | None = None,
) -> str:
    """What the defender had: the forget set (where it came from) and the clean share."""
    defense, source = cfg.get("defense", {}), cfg.get("model", {}).get("source", "train")
    clean = f"{100 * defense.get('clean_fraction', 0):.0f}% of the clean training data"
    origin = started.forget_source if started is not None else None
    if detected is not None:
        forget = detected_words(detected)
    elif origin == "none":
        return (
            f"{clean[0].upper()}{clean[1:]}; no forget set (the oracle is off and no "
            "detection phase decided)."
        )
    elif source == "backdoorbench":
        forget = (
            f"the poisoned training images the BackdoorBench file lists (bd_train; at most "
            f"{defense.get('forget_size')}): the oracle, the truth handed to the phases"
        )
    elif source == "file" and not defense.get("forget_root"):
        return f"{clean[0].upper()}{clean[1:]}; no identified poisoned samples."
    elif source == "file":
        forget = (
            f"the identified poisoned samples of the folder given (at most "
            f"{defense.get('forget_size')})"
        )
    else:
        forget = (
            f"{defense.get('forget_size')} of the truly poisoned training images as the forget "
            "set: the oracle, known only because the backdoor was planted here"
        )
    return f"{forget[0].upper()}{forget[1:]}, and {clean}."


def what_was_done(facts: RunFacts) -> str:
    cfg = facts.config
    data, model, attack = cfg.get("data", {}), cfg.get("model", {}), cfg.get("attack", {})
    target = facts.target_name
    n_params = f"{facts.started.n_params:,} parameters" if facts.started else "size unknown"
    size = data.get("image_size", "?")
    described, clean_label = attack_words(attack)
    items = [
        (
            "Data set",
            f"{DATASETS.get(data.get('name'), data.get('name'))}: "
            f"{data.get('train_size') or 'all'} training and {data.get('test_size') or 'all'} test "
            f"images of {size}x{size} pixels; classes {', '.join(facts.classes)}.",
        ),
        ("Model", model_words(model, n_params)),
        (
            "Attack",
            attack_words_of_run(facts, described, clean_label, target)
            + (
                f" TAR is measured on the trigger region: {facts.started.trigger_region}."
                if facts.started and facts.started.trigger_region
                else ""
            ),
        ),
        ("Defender's knowledge", defender_words(cfg, facts.started, facts.detected)),
        (
            "Removal",
            "the schedule below, phase by phase; the charts and heatmaps show it as it went.",
        ),
    ]
    rows = "".join(f"<dt>{e(k)}</dt><dd>{e(v)}</dd>" for k, v in items)
    return f'<dl class="facts">{rows}</dl>'


def steps_words(facts: RunFacts) -> str:
    """The run's steps as the dashboard says them (frontend core/format.js stepsText):
    "step 35 / 600" while it runs, "169 steps" when it ran its plan, "35 of 600 planned
    steps" when it ended before."""
    plan = facts.plan()
    step, total = plan["taken"], plan["total"]
    if facts.status in {s.value for s in LIVE_STATUSES}:
        return f"step {step} / {total}"
    return f"{step} steps" if step >= total else f"{step} of {total} planned steps"


def timeline(facts: RunFacts) -> str:
    """The schedule as a bar: one block per phase, wide as its steps; its steps and totals
    from the run's plan (ml.schedule.run_plan), the same the dashboard's views show."""
    plan = facts.plan()
    schedule = facts.schedule
    ran = {p["index"]: p for p in facts.phases}
    blocks = []
    for i, (ph, planned) in enumerate(zip(schedule, plan["phases"], strict=True)):
        done = ran.get(i)
        if planned["taken"] is not None:
            steps = planned["taken"]
        elif done:  # started, not ended: running, or the run stopped inside it
            steps = max(facts.last_step - done["start"], 0)
        else:
            steps = 0
        width = max(steps if done else planned["steps"], 1)
        state = "planned, not run" if not done else f"{steps} of {planned['steps']} steps"
        if plan["edited"] and planned["planned_steps"] is None:
            state += ", added or changed by an edit"
        elif planned["planned_steps"] not in (None, planned["steps"]):
            state += f", planned {planned['planned_steps']}"
        if done and done.get("reason") == "early_stop":
            asr, below = fmt(done.get("asr"), "%"), fmt(done.get("threshold"), "%")
            state += f", stopped early (ASR {asr} < {below})"
        elif done and done.get("reason") == "stopped":
            state += ", stopped by hand"
        extra = f"lr {ph.get('lr')}" + (
            f", EWC λ {ph.get('ewc_lambda')}" if ph.get("ewc_lambda") else ""
        )
        blocks.append((width, ph.get("kind", "?"), i, state, extra, bool(done)))
    parts = "".join(
        f'<div class="tl-phase tl-{e(kind)}{"" if done else " tl-planned"}" style="flex:{w}">'
        f"<b>{i + 1} · {e(kind)}</b><span>{e(state)}</span>"
        f"<span class=muted>{e(extra)}</span></div>"
        for w, kind, i, state, extra, done in blocks
    )
    kinds = sorted({b[1] for b in blocks})
    legend = "".join(f"<li><b>{e(k)}</b>: {e(phase_words(k))}</li>" for k in kinds)
    edits = "".join(
        f"<li>Schedule edited during the run at step {x['step']}.</li>" for x in facts.edits
    )
    total = (
        f"{plan['taken']} of {plan['total']} steps taken"
        if plan["taken"] < plan["total"]
        else f"{plan['total']} steps in total"
    )
    if plan["edited"]:
        total += f" (planned: {plan['planned_total']} steps, edited live)"
    return (
        f'<p class="tl-total">{e(total)}.</p>'
        f'<div class="timeline">{parts}</div><ul class="legend">{legend}{edits}</ul>'
    )


def evaluation_table(facts: RunFacts) -> str:
    if not facts.evaluations:
        return '<p class="muted">No full test-set evaluation was recorded.</p>'
    names = (
        "when",
        "step",
        "ASR",
        "CA",
        "RA",
        "TAR median",
        "TAR mean",
        "trigger mass",
        "images (clean / triggered)",
    )
    head = "<tr>" + "".join(f"<th>{n}</th>" for n in names) + "</tr>"
    rows = "".join(
        f"<tr><td>{e(r['label'])}</td><td>{r['step']}</td><td>{fmt(r['asr'], '%', 2)}</td>"
        f"<td>{fmt(r['ca'], '%', 2)}</td><td>{fmt(r.get('ra'), '%', 2)}</td>"
        f"<td>{fmt(r['tar_median'])}</td>"
        f"<td>{fmt(r['tar_mean'])}</td>"
        f"<td>{fmt(None if r['mass_fraction'] is None else 100 * r['mass_fraction'], '%', 2)}</td>"
        f"<td>{r['n_clean']} / {r['n_triggered']}</td></tr>"
        for r in facts.evaluations
    )
    return f'<table class="evals" id="evaluations">{head}{rows}</table>'


def details(facts: RunFacts, version: str, plotly_version: str, frames_note: str) -> str:
    wall = facts.finished.get("wall_time") if facts.finished else None
    items = [
        ("Run", f"{facts.name} ({facts.run_id or 'not stored on a server'}), {facts.status}"),
        (
            "Started / last event",
            f"{when(facts.t_first)} / {when(facts.t_last)}"
            + (f" ({wall / 60:.1f} min, preparation included)" if wall else ""),
        ),
        ("Device", facts.started.device if facts.started else "–"),
        ("Software", f"UnlearnScope {version}; charts by Plotly.js {plotly_version} (embedded)"),
        ("Heatmap frames", frames_note),
    ]
    rows = "".join(f"<dt>{e(k)}</dt><dd>{e(v)}</dd>" for k, v in items)
    config = json.dumps(facts.config, indent=2)
    return (
        f'<dl class="facts">{rows}</dl><h3>Full configuration</h3>'
        f'<pre id="config">{e(config)}</pre>'
    )


# -- gone for good, or only hidden? ------------------------------------------------------
# The backdoor-connected path (Min et al., NeurIPS 2024), where the triggered images went,
# and what the closing attacks did beyond the result's numbers (verdict.py has their ASR).
WHERE_SHOWN = 9  # classes named in "where the triggered images went", the target apart


def shows_hidden(facts: RunFacts) -> bool:
    """The section is shown: the run measured a path, or attacked its defended model."""
    return bool(facts.paths) or facts.attack_phases_ran() or bool(facts.post_purification())


def _near(path: dict[str, Any], key: str, alpha: float) -> tuple[float, float] | None:
    """(alpha, value) of the measured point nearest `alpha`; None where nothing measured."""
    points = [(a, v) for a, v in zip(path["alphas"], path[key], strict=False) if v is not None]
    return min(points, key=lambda p: abs(p[0] - alpha)) if points else None


def attacks_woke(facts: RunFacts) -> list[str] | None:
    """The closing attacks that brought the backdoor back (ASR at or above the bar, as the
    verdict counts it), in words; None without attacks."""
    post, bar = facts.post_purification(), criteria_of(facts.config)
    names = {"asr_retuned": "the retuning attack", "asr_qra": "the reactivation attack"}
    bars = {"asr_retuned": bar.asr_retuned_below, "asr_qra": bar.asr_qra_below}
    back = {k: v for k in names if (v := post.get(k)) is not None}
    return None if not back else [names[k] for k, v in back.items() if v >= bars[k]]


def path_reading(
    path: dict[str, Any],
    woken: list[str] | None = None,
    outcome: str | None = None,
    limit: float = REMOVED_BELOW,
) -> str:
    """The path in words: the ASR half-way back, how far back it stays low (below `limit`,
    the run's ASR bar), and what that suggests, next to what the attacks on the defended
    model did (`woken`, attacks_woke). `outcome`: the run's verdict; a broken model's path
    is not read (its low ASR means nothing)."""
    half, end = _near(path, "asr", 0.5), _near(path, "asr", 1.0)
    if half is None or end is None:
        ca = _near(path, "ca", 0.5)
        mid = f" (half-way: {fmt(ca[1], '%')})" if ca else ""
        return (
            "The trigger is unknown, so only clean accuracy was measured along the line"
            f"{mid}; it cannot say whether the backdoor is hidden."
        )
    where = "Half-way" if abs(half[0] - 0.5) < 1e-6 else f"At α = {half[0]:.2f}"
    text = (
        f"{where} back to the backdoored model the backdoor fires on {fmt(half[1], '%')} of "
        f"triggered images (at the defended model itself: {fmt(end[1], '%')})."
    )
    if outcome == "broken":  # the verdict: a model at chance accuracy; no reading of its ASR
        return text + (
            " The model is broken (its clean accuracy is at chance level, the result above), "
            "so a low ASR along this line says nothing about the backdoor."
        )
    if end[1] >= limit:
        return text
    # Walk back from the defended model (alpha 1) to the first point at or above the bar.
    back = sorted(
        ((a, v) for a, v in zip(path["alphas"], path["asr"], strict=False) if v is not None),
        reverse=True,
    )
    up = next(((a, v) for a, v in back if v >= limit), None)
    bar = f"{limit:g}%"
    if up is None:
        text += f" It stays below {bar} along the whole line"
        close = False
    else:
        text += (
            f" Walking back from the defended model, it first reaches {bar} at "
            f"α = {up[0]:.1f}, {100 * (1 - up[0]):.0f}% of the way back"
        )
        close = 1 - up[0] <= 0.5
    if close:
        text += ": the backdoor lies close to the defended weights, a sign that it is only hidden"
        if woken is None:
            return text + ", and that a little re-tuning may wake it."
        if woken:
            return text + f"; and {' and '.join(woken)} did wake it (the result above)."
        return text + ", though the attacks on it did not wake it."
    text += ": the defended model sits far from the backdoor along this line"
    if woken is None:
        return text + ", as it would if the backdoor were gone for good."
    if woken:
        return text + (
            f", yet {' and '.join(woken)} woke the backdoor (the result above): this line "
            "alone does not prove it gone."
        )
    return text + ", and the attacks on it did not wake it: gone, as far as these tests reach."


def _share_rows(counts: list[int], target: int | None, classes: list[str]) -> str:
    total = sum(counts)
    ranked = sorted(range(len(counts)), key=lambda c: (-counts[c], c))
    shown = [c for c in ranked if c != target][:WHERE_SHOWN]
    if target is not None and 0 <= target < len(counts):
        shown = [target, *shown]
    rest = total - sum(counts[c] for c in shown)

    def row(name: str, n: int, cls: str = "") -> str:
        share = 100 * n / total
        return (
            f'<li class="share{cls}"><span class="share-name">{e(name)}</span>'
            f'<span class="share-bar"><i style="width:{share:.1f}%"></i></span>'
            f'<span class="share-value">{share:.1f}%</span></li>'
        )

    def name(c: int) -> str:
        return classes[c] if c < len(classes) else f"class {c}"

    rows = [row(f"{name(c)} (target)" if c == target else name(c), counts[c]) for c in shown]
    if target in shown:
        rows[0] = rows[0].replace('class="share"', 'class="share target"', 1)
    others = len(counts) - len(shown)
    if rest > 0 and others > 0:
        rows.append(row(f"the other {others} classes", rest, " rest"))
    return f'<ul class="shares" id="where-triggered">{"".join(rows)}</ul>'


def where_triggered(facts: RunFacts) -> str:
    """Where the defended model sends the triggered images of the other classes."""
    ev = facts.defended_evaluation()
    counts = [int(c) for c in (ev or {}).get("triggered_classes") or []]
    total = sum(counts)
    if ev is None or total == 0:
        return (
            '<p class="muted">Where the triggered images went was not counted (a run '
            "recorded before it was, or the trigger is unknown).</p>"
        )
    target, classes = facts.target_class, facts.classes
    label = str(ev["label"])
    when_ = (
        "before unlearning"
        if label.startswith("before")
        else "at the end"
        if label == "final"
        else f"after {label}"
    )
    intro_ = (
        f"The {total:,} triggered test images whose true class is not the target, by the "
        f"class the defended model gives them (full test set; evaluated {when_}):"
    )
    others = [c for c in range(len(counts)) if c != target]
    even = 100 / max(len(others), 1)
    top = max(others, key=lambda c: counts[c]) if others else None
    note = ""
    if top is not None:
        share = 100 * counts[top] / total
        name = classes[top] if top < len(classes) else f"class {top}"
        if share >= max(2 * even, 25.0):
            note = (
                f"“{name}” takes {share:.1f}%, more than twice an even share ({even:.0f}%): "
                "the trigger may now lead there instead, the backdoor moved rather than removed."
            )
        else:
            note = (
                f"No other class stands out (an even share would be about {even:.0f}%): the "
                "trigger no longer steers the answer elsewhere."
            )
        if target is not None and 100 * counts[target] / total >= REMOVED_BELOW:
            note = ""  # the backdoor still fires: the result above says so
    return f'<p class="small">{e(intro_)}</p>{_share_rows(counts, target, classes)}' + (
        f'<p class="small muted">{e(note)}</p>' if note else ""
    )


def attacks_words(facts: RunFacts) -> str:
    """What the closing attacks did beyond their ASR (the result's cards and verdict have
    it): CA after re-tuning; QRA's perturbation without the trigger and on its own."""
    f = facts.finished or {}
    retuned, reactivated = f.get("retuned"), f.get("reactivated")
    parts = []
    if retuned:
        after, _ = facts.after()
        ca_before = None if after is None else after.get("ca")
        parts.append(
            f"the retuning attack (fine-tuning the defended model with a few poisoned images) "
            f"left it at {fmt(retuned.get('ca'), '%')} clean accuracy (defended: "
            f"{fmt(ca_before, '%')})"
        )
    if reactivated:
        asr, without = reactivated.get("asr"), reactivated.get("asr_without")
        alone = reactivated.get("adversarial")
        text = (
            f"for the reactivation attack (QRA), the trigger without its perturbation reaches "
            f"{fmt(without, '%')} and the perturbation alone, on clean images, {fmt(alone, '%')}"
        )
        if asr is not None and asr >= criteria_of(facts.config).asr_qra_below and alone is not None:
            text += (
                ", so much of its ASR is an adversarial perturbation rather than the backdoor "
                "waking"
                if alone >= 0.5 * asr
                else ", so it is the backdoor that wakes, not a perturbation that fools any image"
            )
        parts.append(text)
    if not parts:
        return ""
    said = "; ".join(parts)
    return f'<p id="attacks-words">Beyond the ASR figures in the result above: {e(said)}.</p>'


def gone_or_hidden(facts: RunFacts) -> str:
    """The section "Gone for good, or only hidden?" ("" when the run has neither a path
    nor an attack on its defended model)."""
    if not shows_hidden(facts):
        return ""
    path, retuned = facts.defended_path(), facts.retuned_path()
    size = facts.config.get("monitor", {}).get("eval_size")
    subset = f"the monitor subset ({size} test images)" if size else "the monitor subset"
    if path is not None:
        outcome, limit = facts.verdict()["outcome"], criteria_of(facts.config).asr_below
        reading = path_reading(path, attacks_woke(facts), outcome, limit)
        label = path["label"]
        where = label if "step" in label else f"{label}, step {path['step']}"
        faint = (
            f" Faint: the same line to the model after the retuning attack ({retuned['label']})."
            if retuned is not None
            else ""
        )
        chart = (
            '<div class="chart-box"><h3>The backdoor-connected path</h3>'
            f'<p class="small muted">ASR and CA of the models on the straight line from the '
            f"backdoored weights (0) to the defended model (1, {e(where)}), on {e(subset)}."
            f"{e(faint)}</p>"
            '<div class="chart chart-small" id="chart-path"></div>'
            '<img class="chart-print" id="print-path" alt="">'
            f'<p id="path-reading">{e(reading)}</p></div>'
        )
    else:
        chart = (
            '<p class="muted" id="path-reading">No backdoor-connected path of the defended '
            "model was measured (monitor path points 0, or the run ended before a defence "
            "phase did).</p>"
        )
    return (
        '<section id="hidden" class="card"><h2>Gone for good, or only hidden?</h2>'
        '<p class="muted">A backdoor can vanish from the numbers and still sit in the weights, '
        "a short way from coming back (Min et al., NeurIPS 2024). Here the defended model (the "
        "one before any closing attack on it) is seen from the backdoored weights, with where "
        "its triggered images went.</p>"
        f'<div class="hidden-grid"><div>{chart}</div>'
        f"<div><h3>Where the triggered images went</h3>{where_triggered(facts)}</div></div>"
        f"{attacks_words(facts)}</section>"
    )
