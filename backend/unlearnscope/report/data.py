"""What a report or a clip shows of one run, gathered from its events in one pass.

Both sources give the same `RunFacts`: a stored run (the server's database, read through
`RunStore`) and the event list `unlearnscope run --out` keeps in memory. Nothing here
depends on the wall clock, so the same run always makes the same report.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..events import (
    ErrorEvent,
    Evaluation,
    EventBase,
    ForgetSetFound,
    FramesEvent,
    Measurement,
    PathEvaluated,
    PhaseEnd,
    PhaseStart,
    ProbesEvent,
    RunFinished,
    RunStarted,
    ScheduleEdit,
    StatusEvent,
    StepMetrics,
    TriggerFound,
)
from ..ml.kinds.registry import PHASE_KINDS, canonical_kind
from ..ml.schedule import run_plan
from ..scores import headline
from ..verdict import criteria_of

MEASURED = ("asr", "ca", "ra", "tar_median", "tar_mean", "mass_fraction", "auc")
LOSS_FIELDS = ("step", "phase_index", "kind", "loss", "ce_loss", "ewc_penalty", "lr")


@dataclass
class RunFacts:
    run_id: str
    name: str
    status: str  # completed | stopped | failed | interrupted | running | ...
    message: str
    error: str  # why a failed run failed ("" otherwise)
    config: dict[str, Any]
    started: RunStarted | None = None
    found: TriggerFound | None = None  # the trigger a phase recovered (unknown before)
    detected: ForgetSetFound | None = None  # the forget set a detection phase flagged
    probes: ProbesEvent | None = None
    frames: list[FramesEvent] = field(default_factory=list)
    losses: list[dict[str, Any]] = field(default_factory=list)  # one per step
    measured: list[dict[str, Any]] = field(default_factory=list)  # merged by step, sorted
    evaluations: list[dict[str, Any]] = field(default_factory=list)
    phases: list[dict[str, Any]] = field(default_factory=list)  # started phases, in order
    edits: list[dict[str, Any]] = field(default_factory=list)  # accepted schedule edits
    ends: list[dict[str, Any]] = field(default_factory=list)  # phase_end: index, steps, reason
    # backdoor-connected paths (PathEvaluated: every phase end, on request), in event order
    paths: list[dict[str, Any]] = field(default_factory=list)
    finished: dict[str, Any] | None = None
    # the event headers scores.headline reads (run_started, evaluation, measurement,
    # run_finished), for the verdict every view shows
    headers: list[dict[str, Any]] = field(default_factory=list)
    t_first: float | None = None  # wall clock of the first and the last event
    t_last: float | None = None
    last_step: int = 0

    # -- derived ---------------------------------------------------------------------------
    def verdict(self) -> dict[str, Any]:
        """The run's verdict (unlearnscope/verdict.py), as the run list, the compare view
        and the leaderboard show it: scores.headline's, against the run's `success`."""
        verdict: dict[str, Any] = headline(self.headers, None, criteria_of(self.config))["verdict"]
        return verdict

    @property
    def classes(self) -> list[str]:
        if self.started is not None:
            return list(self.started.classes)
        return [str(i) for i in range(10)]

    @property
    def target_name(self) -> str:
        """The target class's name; "?" where it is unknown."""
        t = self.target_class
        return self.classes[t] if t is not None and 0 <= t < len(self.classes) else "?"

    @property
    def trigger_words(self) -> str:
        """ "the trigger", or how the trigger ASR was measured with came to be known."""
        if self.found is not None:
            return f"the trigger {self.found.source}"
        if self.started is not None and self.started.trigger_source == "file":
            return "the triggered test set from the model's file"
        return "the trigger"

    @property
    def target_class(self) -> int | None:
        """None: the trigger was unknown (and no phase recovered one)."""
        if self.found is not None:
            return self.found.target_class
        if self.started is not None:
            return self.started.target_class
        return int(self.config.get("attack", {}).get("target_class", 0))

    @property
    def schedule(self) -> list[dict[str, Any]]:
        """The schedule in force at the end (after edits)."""
        if self.edits:
            schedule: list[dict[str, Any]] = self.edits[-1]["schedule"]
            return schedule
        if self.started is not None:
            return self.started.schedule
        return list(self.config.get("schedule", []))

    def plan(self) -> dict[str, Any]:
        """The run's schedule as planned, as edited and as run, and its step total: the one
        definition every view reads (ml.schedule.run_plan)."""
        if self.started is not None and self.started.schedule:
            planned = list(self.started.schedule)
        else:
            planned = list(self.config.get("schedule", []))
        return run_plan(planned, self.schedule, self.ends, self.last_step)

    def evaluation(self, label: str) -> dict[str, Any] | None:
        return next((e for e in self.evaluations if e["label"] == label), None)

    def before(self) -> dict[str, Any] | None:
        """The backdoored model's evaluation: with the recovered trigger when a phase
        recovered one (the trigger was unknown before)."""
        return self.evaluation("before (recovered trigger)") or self.evaluation("before")

    def after(self) -> tuple[dict[str, Any] | None, str]:
        """The defended model's numbers and where they come from: RunFinished.after (the
        model before any closing attack phases), else the newest after unlearning."""
        attacked = self.finished is not None and (
            self.finished.get("retuned") or self.finished.get("reactivated")
        )
        if self.finished is not None and self.finished.get("after") and attacked:
            return dict(
                self.finished["after"]
            ), "full test set, the defended model (before the attacks on it)"
        final = self.evaluation("final")
        if final is not None:
            return final, "full test set, at the end"
        later = [e for e in self.evaluations if not e["label"].startswith("before")]
        if later:
            return later[-1], f"full test set, {later[-1]['label']}"
        steps = [m for m in self.measured if m["step"] > 0 and m.get("asr") is not None]
        if steps:
            return steps[-1], f"monitor subset, step {steps[-1]['step']}"
        return None, ""

    def closing_attacks_from(self) -> int:
        """Index of the first phase of the schedule's closing run of attack phases
        (`relearn`, `qra`: PhaseKind.attack), the schedule's length when there is none: the
        model before it is the defended one (engine/summary.py, split_retuning)."""
        schedule = self.schedule
        first = len(schedule)
        while first > 0 and _is_attack(schedule[first - 1].get("kind")):
            first -= 1
        return first

    def attack_phases_ran(self) -> bool:
        """A closing attack phase of the schedule started."""
        first = self.closing_attacks_from()
        return any(p["index"] >= first for p in self.phases)

    def defended_path(self) -> dict[str, Any] | None:
        """The defended model's path: the last one measured in a phase before the closing
        attacks (the last defence phase's end once it ended); None without one."""
        first = self.closing_attacks_from()
        found = [p for p in self.paths if p["phase_index"] < first]
        return max(found, key=lambda p: p["step"]) if found else None

    def retuned_path(self) -> dict[str, Any] | None:
        """The re-tuned model's path: the last one measured in or after a closing `relearn`
        phase (qra changes no weight, so a path during it repeats the defended one)."""
        first, schedule = self.closing_attacks_from(), self.schedule
        found = [
            p
            for p in self.paths
            if p["phase_index"] >= first
            and any(
                canonical_kind(str(ph.get("kind"))) == "relearn"
                for ph in schedule[first : p["phase_index"] + 1]
            )
        ]
        return max(found, key=lambda p: p["step"]) if found else None

    def defended_evaluation(self) -> dict[str, Any] | None:
        """The full evaluation of the defended model (the model before the closing attack
        phases; the newest when there are none): its `triggered_classes` say where the
        triggered images went. The backdoored model's when no defence phase ended."""
        first = self.closing_attacks_from()
        later = [e for e in self.evaluations if not e["label"].startswith("before")]
        if first < len(self.schedule):
            later = [e for e in later if (_phase_number(e["label"]) or first + 1) <= first]
        return later[-1] if later else self.before()

    def post_purification(self) -> dict[str, float | None]:
        """What the attacks on the defended model did (Min et al., NeurIPS 2024): the ASR
        after re-tuning, after the reactivation attack, and the target rate of that
        attack's perturbation alone; {} without attacks."""
        f = self.finished or {}
        out: dict[str, float | None] = {}
        if f.get("retuned"):
            out["asr_retuned"] = f["retuned"].get("asr")
            out["ca_retuned"] = f["retuned"].get("ca")
        if f.get("reactivated"):
            out["asr_qra"] = f["reactivated"].get("asr")
            out["qra_alone"] = f["reactivated"].get("adversarial")
        return out

    def latest(self, step: int, key: str) -> float | None:
        """The newest measured `key` at or before `step` (evaluations included)."""
        best: tuple[int, float] | None = None
        for row in (*self.measured, *self.evaluations):
            value = row.get(key)
            if (
                value is not None
                and row["step"] <= step
                and (best is None or row["step"] >= best[0])
            ):
                best = (row["step"], value)
        return None if best is None else best[1]

    def phase_at(self, step: int) -> dict[str, Any] | None:
        """The phase that the model after `step` was in (None before unlearning)."""
        found = None
        for p in self.phases:
            if p["start"] < step:
                found = p
        return found

    def probe_images(self) -> np.ndarray | None:
        """(P, 2, H, W, 3) uint8 or None."""
        if self.probes is None:
            return None
        s, p = self.probes.size, len(self.probes.indices)
        return np.frombuffer(self.probes.images, np.uint8).reshape(p, 2, s, s, 3)


def _is_attack(kind: Any) -> bool:
    """A phase kind that plays the attacker (unknown kinds, a plug-in gone: no)."""
    phase = PHASE_KINDS.get(canonical_kind(str(kind)))
    return bool(phase is not None and phase.attack)


def _phase_number(label: str) -> int | None:
    """ "phase 3 (recovery)" -> 3; None for "final" and other labels."""
    match = re.match(r"phase (\d+) \(", label)
    return int(match.group(1)) if match else None


def frame_maps(frames: FramesEvent) -> np.ndarray:
    """(P, 2, H, W) uint8 maps of one frame."""
    return np.frombuffer(frames.maps, np.uint8).reshape(frames.count, 2, frames.size, frames.size)


def gather(meta: dict[str, Any], events: Iterable[EventBase]) -> RunFacts:
    """RunFacts from a run's metadata (id, name, status, message, error, config) and events."""
    facts = RunFacts(
        run_id=str(meta.get("id") or ""),
        name=str(meta.get("name") or meta.get("config", {}).get("name") or "run"),
        status=str(meta.get("status") or "unknown"),
        message=str(meta.get("message") or ""),
        error=str(meta.get("error") or ""),
        config=dict(meta.get("config") or {}),
    )
    by_step: dict[int, dict[str, Any]] = {}
    frames: dict[int, FramesEvent] = {}
    for e in events:
        facts.t_first = e.t if facts.t_first is None else facts.t_first
        facts.t_last = e.t
        if isinstance(e, Measurement):
            facts.headers.append({"type": e.type, "step": e.step, "asr": e.asr})
        elif isinstance(e, RunStarted | Evaluation | RunFinished):
            facts.headers.append(e.model_dump(mode="json"))
        if isinstance(e, StepMetrics):
            facts.losses.append({k: getattr(e, k) for k in LOSS_FIELDS})
            facts.last_step = max(facts.last_step, e.step)
        elif isinstance(e, Measurement):
            row = by_step.setdefault(e.step, {"step": e.step})
            row.update({k: getattr(e, k) for k in MEASURED if getattr(e, k) is not None})
        elif isinstance(e, FramesEvent):
            frames[e.step] = e  # the newest frame of a step wins
        elif isinstance(e, PathEvaluated):
            facts.paths.append(e.model_dump(exclude={"seq", "t", "type", "request_id"}))
        elif isinstance(e, Evaluation):
            facts.evaluations.append(e.model_dump(exclude={"seq", "t", "type"}))
        elif isinstance(e, PhaseStart):
            facts.phases.append(
                {
                    "index": e.phase_index,
                    "kind": e.kind,
                    "start": e.step,
                    "planned": e.planned_steps,
                    "end": None,
                    "reason": None,
                }
            )
        elif isinstance(e, PhaseEnd):
            for p in facts.phases:
                if p["index"] == e.phase_index:
                    p.update(end=e.step, reason=e.reason, asr=e.asr, threshold=e.threshold)
            facts.ends.append({"phase_index": e.phase_index, "steps": e.steps, "reason": e.reason})
        elif isinstance(e, ScheduleEdit) and e.accepted:
            facts.edits.append({"step": e.step, "schedule": e.schedule})
        elif isinstance(e, RunStarted):
            facts.started = e
        elif isinstance(e, TriggerFound):
            facts.found = e
        elif isinstance(e, ForgetSetFound):
            facts.detected = e
        elif isinstance(e, ProbesEvent):
            facts.probes = e
        elif isinstance(e, RunFinished):
            facts.finished = e.model_dump(exclude={"seq", "t", "type"})
        elif isinstance(e, ErrorEvent) and e.fatal and not facts.error:
            facts.error = e.message
        elif isinstance(e, StatusEvent):
            if not meta.get("status"):
                facts.status = e.status
            if e.status == "failed" and not facts.error:
                facts.error = e.message
    facts.measured = [by_step[s] for s in sorted(by_step)]
    facts.frames = [frames[s] for s in sorted(frames)]
    if facts.frames:
        facts.last_step = max(facts.last_step, facts.frames[-1].step)
    return facts


def facts_from_store(store: Any, run_id: str) -> RunFacts:
    """RunFacts of a stored run; KeyError when there is no such run."""
    row = store.get(run_id)
    if row is None:
        raise KeyError(run_id)
    meta = {
        "id": row.id,
        "name": row.name,
        "status": row.status,
        "message": row.message,
        "error": row.error or "",
        "config": row.config,
    }
    return gather(meta, store.load_events(run_id))
