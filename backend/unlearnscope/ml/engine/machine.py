"""The step machine over a phase schedule, reporting through `emit`.

    engine = Engine(config, emit)
    engine.run(poll)          # or: engine.prepare(); while engine.step(): ...

Between any two steps it applies control messages (pause, resume, stop, schedule edit,
inspect sample); `poll(block)` hands them in (blocking briefly while paused). It owns the
model, optimiser, schedule and monitor, and never writes files or sockets itself: model
caching goes through the injected `ModelStore`, everything else through `emit(event)`.
"""

from __future__ import annotations

import contextlib
import threading
import time
import traceback
from collections import deque
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from pydantic import ValidationError

from ...config import RunConfig, schedule_steps, unfound_forget_users
from ...control import (
    Control,
    EditSchedule,
    Inspect,
    MeasurePath,
    Pause,
    Resume,
    SetMonitorBudget,
    Stop,
    parse_control,
)
from ...events import (
    ErrorEvent,
    Evaluation,
    EventBase,
    Measurement,
    PhaseEnd,
    PhaseEndReason,
    PhaseStart,
    Progress,
    RunFinished,
    RunStarted,
    SampleReport,
    ScheduleEdit,
    StatusEvent,
    StepMetrics,
    TriggerFound,
)
from ...states import STEPPING_STATUSES, RunStatus
from ..attacks.base import Trigger
from ..attacks.poisoning import triggered_non_target
from ..detection.result import Detection
from ..ewc import EWCPenalty, diagonal_fisher
from ..foreign.prepare import prepare_imported
from ..foreign.triggers import RecoveredTrigger
from ..imageset import ImageSet
from ..kinds.protocol import (
    FoundTrigger,
    PhaseContext,
    PhaseRun,
    PhaseVisual,
    frozen_copy,
    start_phase,
)
from ..kinds.registry import PHASE_KINDS
from ..kinds.settings import budget_problems, load_settings
from ..metrics import asr_and_ra, clean_accuracy, predict
from ..models.classifier import count_parameters
from ..monitor import FrameBatch, Measured, Monitor, class_counts, inspect_sample
from ..path import PathCurve
from ..preparation import ModelStore, Prepared, prepare, resolve_device
from ..region import RegionRule, region_rule
from ..schedule import ScheduleEditError, apply_edit
from .cadence import Cadence
from .detected import classes_visual, found_event, histogram_visual, suspects_visual
from .encode import frames_event, probes_event, visual_event
from .governor import Governor
from .live import LiveMonitor
from .paths import PathJob, PathMeter, path_event, path_job, path_points
from .reactivation import reactivation, reactivation_visual
from .summary import split_retuning, summary
from .threads import share_cores

Emit = Callable[[EventBase], None]
Poll = Callable[[bool], list[Control | dict[str, Any]]]  # poll(block) -> control messages


# The engine's state is None before `prepare`, then a RunStatus (never queued or
# interrupted: those are the server's). Control applies while it is STEPPING.
ACTIVE = STEPPING_STATUSES


class StopRequested(Exception):
    """Raised inside preparation when a stop arrives, to leave long work at once."""


def _no_poll(block: bool) -> list[Control | dict[str, Any]]:
    return []


class Engine:
    def __init__(
        self,
        config: RunConfig,
        emit: Emit,
        device: str | None = None,
        data_dir: str | Path | None = None,
        data_cache_dir: Path | None = None,
        store: ModelStore | None = None,
    ) -> None:
        self.config = config
        self._emit_fn = emit
        self.device = resolve_device(device)
        self.data_dir = data_dir
        self.data_cache_dir = data_cache_dir
        self.store = store
        self.state: RunStatus | None = None  # None: not prepared yet
        self.seq = 0
        self.schedule = list(config.schedule)
        self.phase_index = 0  # the phase being run (== len(schedule) when all are done)
        self.phase_done = 0  # steps taken in that phase
        self.step_count = 0  # global steps taken
        self.prepared: Prepared | None = None
        self.monitor: Monitor | None = None
        self._ewc: EWCPenalty | None = None
        self._run: PhaseRun | None = None  # the running phase's state (None between phases)
        self._phase_evals: dict[int, Evaluation] = {}
        self._trigger_mask: torch.Tensor | None = None  # the evaluation at each phase's end
        self._gen = torch.Generator().manual_seed(config.seed + 11)
        self._poll: Poll = _no_poll
        self._deferred: deque[Control | dict[str, Any]] = deque()
        self._before: Evaluation | None = None
        self._last_eval: Evaluation | None = None
        self._asr_set: ImageSet | None = None  # non-target test images, triggered, true labels
        # The trigger ASR and TAR are measured with and its target class; target None while
        # the trigger is unknown. A phase that recovers a trigger (Neural Cleanse) sets them.
        self.trigger: Trigger | None = None
        self.target: int | None = None
        self.region: RegionRule | None = None  # the trigger region's rule, once prepared
        # (N,) bool over the training set: the truly poisoned samples, when known. Read only
        # to show how good a detection was (`_forget_found`), never handed to a phase.
        self._truth: torch.Tensor | None = None
        self._forget_given = False  # the run started with a forget set (oracle or folder)
        self._t_start = time.time()
        self._emit_lock = threading.Lock()  # the live monitor emits from its own thread
        mon = config.monitor
        self._cadence = Cadence(
            every={
                "frame": mon.frame_every if mon.probe_count > 0 else 0,
                "tar": mon.tar_every,
                "eval": mon.eval_every,
            },
            fixed=mon.budget <= 0,
        )
        self._live: LiveMonitor | None = None
        self._path_meter: PathMeter | None = None  # the path without a live monitor
        # what a reactivation attack (qra) did, for RunFinished.reactivated
        self._reactivated: dict[str, float | None] | None = None

    # -- events --------------------------------------------------------------------------
    def emit(self, event: EventBase) -> None:
        with self._emit_lock:  # seq stays gapless and in emission order across threads
            self.seq += 1
            event.seq = self.seq
            event.t = time.time()
            self._emit_fn(event)

    def _status(self, state: RunStatus, message: str = "") -> None:
        self.state = state
        self.emit(StatusEvent(status=state.state, message=message, step=self.step_count))

    @property
    def _state_name(self) -> str:
        return self.state.value if self.state is not None else "not prepared"

    @property
    def model(self) -> torch.nn.Module:
        assert self.prepared is not None, "the engine is not prepared yet"
        return self.prepared.model

    # -- preparation ---------------------------------------------------------------------
    def _progress(
        self, stage: str, done: int, total: int, message: str, metrics: dict[str, float]
    ) -> None:
        for msg in self._poll(False):
            if isinstance(msg, Stop) or (isinstance(msg, dict) and msg.get("op") == "stop"):
                raise StopRequested
            self._deferred.append(msg)
        self.emit(Progress(stage=stage, done=done, total=total, message=message, metrics=metrics))

    def prepare(self) -> None:
        cfg = self.config
        self._status(RunStatus.PREPARING, "preparing data and the backdoored model")
        if cfg.model.imported:  # the user's model: nothing planted, nothing trained here
            p = prepare_imported(
                cfg, self.device, self.data_dir, self.data_cache_dir, self._progress
            )
        else:
            p = prepare(
                cfg, self.device, self.data_dir, self.data_cache_dir, self.store, self._progress
            )
        self.prepared = p
        self._truth = p.truth
        self._forget_given = len(p.phase_data.forget) > 0
        self._check_budgets(len(p.test.classes))
        # The teacher for distilling recovery phases: the model as it is before unlearning.
        # Always kept (a schedule edit may turn distillation on mid-run).
        p.phase_data.teacher = frozen_copy(p.model)
        if p.trigger_source == "attack":  # a trigger the relearn (retuning) attack can stamp
            p.phase_data.attack_trigger = p.trigger
            p.phase_data.attack_target = p.target
        # (H, W) float {0, 1}: for kinds' displays (IoU of a recovered trigger) only
        self._trigger_mask = None if p.trigger.mask is None else p.trigger.mask.float().cpu()
        self.trigger, self.target = p.trigger, p.target
        fisher_n = min(cfg.defense.fisher_samples, len(p.phase_data.clean))
        x, y = p.phase_data.clean.batch(torch.arange(fisher_n))
        fisher = diagonal_fisher(
            p.model,
            x.to(self.device),
            y.to(self.device),
            progress=lambda d, t: self._progress("fisher", d, t, "estimating Fisher", {}),
        )
        self._ewc = EWCPenalty(p.model, fisher)
        self._measure_with(p.trigger, p.target)
        assert self.monitor is not None and self.region is not None
        self.emit(
            RunStarted(
                device=str(self.device),
                model=cfg.model.name,
                n_params=count_parameters(p.model),
                dataset=cfg.data.name,
                classes=list(p.test.classes),
                target_class=p.target,
                trigger_source=p.trigger_source,
                total_steps=schedule_steps(self.schedule),
                schedule=[ph.model_dump() for ph in self.schedule],
                trigger_box=list(p.trigger.box) if p.trigger.box is not None else None,
                image_size=cfg.data.image_size,
                trigger_region=self.region.describe() if p.target is not None else None,
                model_key=p.model_key,
                forget_source=p.forget_source,
                forget_size=len(p.phase_data.forget),
                training_size=0 if p.phase_data.pool is None else len(p.phase_data.pool),
                truth_known=p.truth is not None,
            )
        )
        self.emit(probes_event(self.monitor, cfg.data.image_size))
        self._before = self._evaluate("before")
        self._initial_frames()
        self._start_live()
        self._status(RunStatus.RUNNING)
        while self._deferred:
            self.handle(self._deferred.popleft())

    def _check_budgets(self, n_classes: int) -> None:
        """Fail before any phase runs when a per-class budget cannot cover the data's
        classes (the server checks this at creation too, where it can count them)."""
        for i, problem in budget_problems(self.schedule, n_classes)[:1]:
            raise ValueError(f"schedule.{i}.steps: {problem}; nothing was unlearned")

    def _measure_with(
        self, trigger: Trigger, target: int | None, probe_idx: torch.Tensor | None = None
    ) -> None:
        """The monitor, the trigger region and the triggered test set for this trigger
        (target None: unknown, nothing triggered to measure)."""
        p, cfg = self.prepared, self.config
        assert p is not None
        self.trigger, self.target = trigger, target
        self.region = region_rule(cfg.monitor, cfg.data.image_size, trigger)
        self.monitor = Monitor(
            cfg.monitor,
            p.model,
            p.model.cam_layer_name,
            p.test,
            trigger,
            target,
            cfg.seed,
            self.region if target is not None else None,
            probe_idx=probe_idx,
        )
        self._asr_set = None if target is None else triggered_non_target(p.test, trigger, target)

    def _trigger_found(self, found: FoundTrigger) -> None:
        """A phase recovered a trigger while none was known: ASR, RA and TAR are measured
        with it from now on, on the same probes (labelled as recovered everywhere)."""
        assert self.monitor is not None
        kind = self.schedule[self.phase_index].kind
        source = f"recovered by {kind} (phase {self.phase_index + 1})"
        trigger = RecoveredTrigger(found.mask, found.pattern, found.target, source)
        self._measure_with(trigger, found.target, probe_idx=self.monitor.probe_idx)
        assert self.monitor is not None and self.region is not None
        if self._live is not None:
            self._live.monitor = self.monitor  # its next pass measures with the new trigger
        self.emit(
            TriggerFound(
                step=self.step_count,
                phase_index=self.phase_index,
                kind=kind,
                source=source,
                target_class=found.target,
                trigger_region=self.region.describe(),
                size=trigger.image_size,
                mask=trigger.soft_mask.contiguous().numpy().tobytes(),
                pattern=trigger.pattern.contiguous().numpy().tobytes(),
            )
        )
        self.emit(probes_event(self.monitor, self.config.data.image_size))
        # The backdoored model measured with the recovered trigger: the run's "before".
        teacher = self.prepared.phase_data.teacher if self.prepared is not None else None
        if teacher is not None:
            last = self._last_eval
            self._before = self._evaluate("before (recovered trigger)", teacher, step=0)
            self._last_eval = last  # (the latest evaluation of the model being unlearned)
            if self.config.monitor.probe_count > 0:  # step 0's heatmaps, with the trigger
                frames, _ = self.monitor.cam_pass(teacher, frames=True, tar=False)
                assert frames is not None
                self._emit_frames(frames, 0)

    # -- evaluation ----------------------------------------------------------------------
    def _evaluate(
        self, label: str, model: torch.nn.Module | None = None, step: int | None = None
    ) -> Evaluation:
        """Full test-set evaluation of the model (or of `model`, tagged with `step`)."""
        p, m = self.prepared, self.monitor
        assert p is not None and m is not None
        model = p.model if model is None else model
        stats = m.tar_only(model)
        triggered = self._asr_set
        asr: float | None = None
        ra: float | None = None
        classes: list[int] | None = None
        if triggered is not None and self.target is not None:
            pred = predict(model, triggered.images)  # one prediction pass for all three
            asr, ra = asr_and_ra(pred, self.target, triggered.labels)
            classes = class_counts(pred, len(p.test.classes))
        event = Evaluation(
            step=self.step_count if step is None else step,
            label=label,
            ca=clean_accuracy(model, p.test.images, p.test.labels),
            asr=asr,
            ra=ra,
            tar_median=stats.median,
            tar_mean=stats.mean,
            mass_fraction=stats.mass,
            rank_accuracy=stats.rank,
            pointing=stats.pointing,
            auc=stats.auc,
            n_clean=len(p.test),
            n_triggered=0 if triggered is None else len(triggered),
            triggered_classes=classes,
        )
        self.emit(event)
        self._last_eval = event
        return event

    def _initial_frames(self) -> None:
        """Probe frames at step 0, before unlearning."""
        assert self.monitor is not None
        if self.config.monitor.probe_count == 0:
            return
        frames, _ = self.monitor.cam_pass(self.model, frames=True, tar=False)
        assert frames is not None
        self._emit_frames(frames, self.step_count)

    def _emit_frames(self, frames: FrameBatch, step: int) -> None:
        self.emit(frames_event(frames, step))

    # -- monitoring ----------------------------------------------------------------------
    def _start_live(self) -> None:
        """Monitoring beside training (budget > 0), on a thread with its own model copy."""
        if self.config.monitor.budget <= 0 or not self._cadence.active():
            return
        assert self.monitor is not None
        share_cores(self.device)
        self._live = LiveMonitor(
            self.monitor,
            self.model,
            self._cadence,
            report=self._report_live,
            on_error=self._live_failed,
            governor=Governor(self.config.monitor.budget),
            start=self.prepared.phase_data.teacher if self.prepared is not None else None,
            report_path=self._report_path,
            path_points=path_points(self.config.monitor.path_points),
        )
        self._live.start()

    def _report_live(self, step: int, phase_index: int, measured: Measured) -> None:
        self._report(step, phase_index, measured, lag=self.step_count - step)

    def _live_failed(self, err: BaseException) -> None:
        self.emit(
            ErrorEvent(
                message=f"live monitoring stopped: {type(err).__name__}: {err}",
                traceback=traceback.format_exc(),
                fatal=False,
            )
        )

    def _end_live(self, flush: bool) -> None:
        live, self._live = self._live, None
        if live is None:
            return
        if flush:
            live.flush()
        else:
            live.close()

    def _report(self, step: int, phase_index: int, measured: Measured, lag: int = 0) -> None:
        """Emit what a monitoring pass found, tagged with the step it measured."""
        if measured.any_value():
            tar = measured.tar
            self.emit(
                Measurement(
                    step=step,
                    phase_index=phase_index,
                    tar_median=tar.median if tar else None,
                    tar_mean=tar.mean if tar else None,
                    mass_fraction=tar.mass if tar else None,
                    rank_accuracy=tar.rank if tar else None,
                    pointing=tar.pointing if tar else None,
                    auc=tar.auc if tar else None,
                    asr=measured.asr,
                    ra=measured.ra,
                    ca=measured.ca,
                    triggered_classes=measured.triggered_classes,
                    seconds=measured.seconds,
                    lag=lag,
                )
            )
        if measured.frames is not None:
            self._emit_frames(measured.frames, step)

    def _monitor_step(self, need_asr: bool) -> Measured:
        """After a step: hand a snapshot to the live monitor, or measure here.

        An early stop needs the monitor-subset ASR of this very step, so a phase with
        `stop_asr_below` measures it here, synchronously, either way.
        """
        assert self.monitor is not None
        step = self.step_count
        if self._live is not None:
            self._live.publish(self.model, step, self.phase_index)
            measured = Measured()
            if (status := self._live.status_due()) is not None:
                self.emit(status.event(step))
        else:
            measured = self.monitor.measure(self.model, self._cadence.plan(step))
        if need_asr and measured.asr is None:
            measured.asr = self.monitor.quick_asr(self.model)
        return measured

    # -- the step machine ----------------------------------------------------------------
    def step(self) -> bool:
        """Take one optimisation step (with its monitoring). False when nothing is left."""
        if self.state is not RunStatus.RUNNING:
            return False
        if self.phase_index >= len(self.schedule):
            self._complete()
            return False
        cfg = self.schedule[self.phase_index]
        if self.phase_done == 0:
            self._start_phase()
        assert self._run is not None and self.monitor is not None

        t0 = time.perf_counter()
        outcome = self._run.step(self._context())
        t1 = time.perf_counter()
        step_time = t1 - t0
        self.step_count += 1
        self.phase_done += 1

        measured = self._monitor_step(cfg.stop_asr_below is not None)
        monitor_time = time.perf_counter() - t1

        self.emit(
            StepMetrics(
                step=self.step_count,
                phase_index=self.phase_index,
                phase_step=self.phase_done,
                kind=cfg.kind,
                loss=outcome.objective,
                ce_loss=outcome.ce,
                ewc_penalty=outcome.penalty,
                lr=cfg.lr,
                grad_norm=outcome.grad_norm,
                step_time=step_time,
                monitor_time=monitor_time,
                losses=outcome.losses,
            )
        )
        self._emit_visuals(outcome.visuals)
        self._report(self.step_count, self.phase_index, measured)
        if outcome.found_trigger is not None and self.prepared is not None:
            self.prepared.phase_data.recovered = outcome.found_trigger  # for later phases
        if outcome.found_trigger is not None and self.target is None:
            self._trigger_found(outcome.found_trigger)

        if self._live is not None:
            # the live monitor's governor sees the whole step: the optimisation and what the
            # engine does around it (its events, the early stop's ASR), all of which the
            # monitor's work can slow; not a phase's end (its evaluation holds the monitor)
            self._live.step_done(t0, time.perf_counter(), self.phase_index)
        asr = measured.asr
        if cfg.stop_asr_below is not None and asr is not None and asr < cfg.stop_asr_below:
            self._end_phase("early_stop", asr=asr, threshold=cfg.stop_asr_below)
        elif self.phase_done >= cfg.steps:
            self._end_phase("completed")
        if self.phase_index >= len(self.schedule):
            self._complete()
            return False
        return True

    def _context(self) -> PhaseContext:
        """What the running phase's next step sees (the schedule as edited so far)."""
        assert self.prepared is not None and self.monitor is not None
        cfg = self.schedule[self.phase_index]
        return PhaseContext(
            model=self.model,
            cfg=cfg,
            settings=load_settings(cfg.kind, cfg.settings),
            data=self.prepared.phase_data,
            ewc=self._ewc,
            gen=self._gen,
            device=self.device,
            phase_step=self.phase_done,
            true_trigger_mask=self._trigger_mask,
        )

    def _emit_visuals(self, visuals: list[PhaseVisual]) -> None:
        kind = self.schedule[self.phase_index].kind
        for v in visuals:
            self.emit(visual_event(v, self.step_count, self.phase_index, kind))

    def _start_phase(self) -> None:
        cfg = self.schedule[self.phase_index]
        assert self.prepared is not None
        if unfound_forget_users([cfg], len(self.prepared.phase_data.forget) > 0):
            raise ValueError(
                f"schedule.{self.phase_index} ({cfg.kind}) needs the forget set, but the "
                "detection before it flagged no training samples; the phases before it "
                "ran, nothing after"
            )
        self._run = start_phase(cfg.kind, self._context())
        self.emit(
            PhaseStart(
                phase_index=self.phase_index,
                kind=cfg.kind,
                step=self.step_count,
                planned_steps=cfg.steps,
            )
        )

    def _end_phase(
        self, reason: PhaseEndReason, asr: float | None = None, threshold: float | None = None
    ) -> None:
        # the phase's last act and its full evaluation are training's time too, which the
        # governor does not see (they are no steps): the live monitor starts nothing new
        # meanwhile, so its work cannot slow them
        with self._live.held() if self._live is not None else contextlib.nullcontext():
            self._phase_ends(reason, asr, threshold)

    def _phase_ends(
        self, reason: PhaseEndReason, asr: float | None, threshold: float | None
    ) -> None:
        cfg = self.schedule[self.phase_index]
        if reason != "stopped" and self._run is not None:
            # the phase's last act (ANP and fine-pruning prune here), before its evaluation
            self._emit_visuals(self._run.finish(self._context()))
            detection = getattr(self._run, "detection", None)
            if PHASE_KINDS[cfg.kind].finds_forget_set and isinstance(detection, Detection):
                self._forget_found(detection)
            perturb = getattr(self._run, "perturb", None)
            if callable(perturb):  # a reactivation attack (qra): x -> x + its perturbation
                self._reactivation(perturb)
        self.emit(
            PhaseEnd(
                phase_index=self.phase_index,
                kind=cfg.kind,
                step=self.step_count,
                reason=reason,
                steps=self.phase_done,
                asr=asr,
                threshold=threshold,
            )
        )
        if reason != "stopped" and PHASE_KINDS[cfg.kind].changes_weights:
            label = f"phase {self.phase_index + 1} ({cfg.kind})"
            evaluation = self._evaluate(label)
            self._phase_evals[self.phase_index] = evaluation
            if self.config.monitor.path_points >= 2:
                self._path(label)
        self.phase_index += 1
        self.phase_done = 0
        self._run = None

    def _path(self, label: str, request_id: str = "") -> None:
        """ASR and CA along the backdoor-connected path (ml/path.py), on the monitor
        subset, from the backdoored model to the model as it is now: by the live monitor
        (within its share of the machine) when one runs, else here."""
        p, m = self.prepared, self.monitor
        assert p is not None and m is not None and p.phase_data.teacher is not None
        phase_index = min(self.phase_index, len(self.schedule) - 1)
        job = path_job(p.model, self.step_count, phase_index, label, request_id)
        if self._live is not None and self._live.alive:
            if self.device.type == "cuda":
                torch.cuda.current_stream(self.device).synchronize()  # the copy is done
            self._live.request_path(job)
            return
        if self._path_meter is None:
            points = path_points(self.config.monitor.path_points)
            self._path_meter = PathMeter(p.phase_data.teacher, m, points)
        self._report_path(job, *self._path_meter.measure(p.model))

    def _report_path(self, job: PathJob, curve: PathCurve, seconds: float) -> None:
        self.emit(path_event(job, curve, seconds))

    def _reactivation(self, perturb: Callable[[torch.Tensor], torch.Tensor]) -> None:
        """A reactivation attack (qra) ended with `perturb`: what it does (reactivation.py),
        kept for RunFinished and shown as the phase's panel."""
        p = self.prepared
        assert p is not None
        triggered, target = self._asr_set, self.target
        if triggered is None or target is None:
            return
        clean = p.test.images[p.test.labels != target]
        self._reactivated = reactivation(self.model, perturb, triggered.images, clean, target)
        self._emit_visuals([reactivation_visual(self._reactivated)])

    def _forget_found(self, det: Detection) -> None:
        """A detection phase decided: what it flagged is the forget set of every later
        phase. Shown with its quality against the truth when the truth is known."""
        p = self.prepared
        assert p is not None and p.phase_data.pool is not None
        pool = p.phase_data.pool
        p.phase_data.forget = pool.subset(det.flagged_idx)
        kind = self.schedule[self.phase_index].kind
        visuals = [histogram_visual(det, self._truth, pool.labels)]
        by_class = classes_visual(det, list(pool.classes))
        if by_class is not None:
            visuals.append(by_class)
        grid = suspects_visual(
            det,
            pool,
            self._truth,
            p.model,
            self.config.monitor.cam_method,
            p.model.cam_layer_name,
        )
        if grid is not None:
            visuals.append(grid)
        self._emit_visuals(visuals)
        self.emit(found_event(det, self._truth, self.step_count, self.phase_index, kind))

    def _complete(self) -> None:
        assert self._before is not None
        self._end_live(flush=True)  # every pending measurement lands before the summary
        final = (
            self._last_eval if self._last_eval and self._last_eval.step == self.step_count else None
        )
        final = final or self._evaluate("final")

        after, retuned = split_retuning(self.schedule, self._before, self._phase_evals, final)
        self.emit(
            RunFinished(
                step=self.step_count,
                before=summary(self._before),
                after=summary(after),
                wall_time=time.time() - self._t_start,
                retuned=retuned,
                reactivated=self._reactivated,
            )
        )
        self._status(RunStatus.COMPLETED, "all phases done")

    # -- control -------------------------------------------------------------------------
    def handle(self, msg: Control | dict[str, Any]) -> None:
        """Apply one control message between steps."""
        try:
            ctl = parse_control(msg)
        except ValidationError as err:
            op = msg.get("op") if isinstance(msg, dict) else None
            self.emit(ErrorEvent(message=f"unknown control message {op!r}: {err}", fatal=False))
            return
        if self.state is RunStatus.PREPARING:
            self._deferred.append(ctl)
            return
        match ctl:
            case Pause() if self.state is RunStatus.RUNNING:
                self._status(RunStatus.PAUSED, "paused by user")
            case Resume() if self.state is RunStatus.PAUSED:
                self._status(RunStatus.RUNNING, "resumed")
            case Stop() if self.state in ACTIVE:
                self._end_live(flush=False)
                if self.phase_done > 0:
                    self._end_phase("stopped")
                self._status(RunStatus.STOPPED, "stopped by user")
            case EditSchedule():
                self._edit_schedule(ctl)
            case Inspect():
                self._inspect(ctl)
            case MeasurePath():
                self._path_request(ctl)
            case SetMonitorBudget():
                self._set_monitor_budget(ctl)
            case Pause() | Resume() | Stop():
                self.emit(
                    ErrorEvent(
                        message=f"cannot {ctl.op} a run that is {self._state_name}",
                        request_id=ctl.request_id,
                        fatal=False,
                    )
                )

    def _edit_schedule(self, msg: EditSchedule) -> None:
        request_id = msg.request_id
        try:
            if self.state not in ACTIVE:
                raise ScheduleEditError(
                    f"the run is {self._state_name}; only a running or paused run can be edited"
                )
            new = apply_edit(self.schedule, msg.schedule, self.phase_index, self.phase_done)
            missing = unfound_forget_users(new, self._forget_given)
            if missing:
                raise ScheduleEditError(
                    f"{missing[0]} needs the forget set, but this run started with none "
                    "and no detection phase runs before it"
                )
        except ScheduleEditError as err:
            self.emit(
                ScheduleEdit(
                    request_id=request_id,
                    accepted=False,
                    step=self.step_count,
                    reason=str(err),
                    schedule=[p.model_dump() for p in self.schedule],
                    total_steps=schedule_steps(self.schedule),
                )
            )
            return
        self.schedule = new
        self.emit(
            ScheduleEdit(
                request_id=request_id,
                accepted=True,
                step=self.step_count,
                schedule=[p.model_dump() for p in new],
                total_steps=schedule_steps(new),
            )
        )
        if self.phase_done > 0 and self.phase_done >= new[self.phase_index].steps:
            self._end_phase("completed")  # the edit ended the current phase here

    def _set_monitor_budget(self, msg: SetMonitorBudget) -> None:
        """A live monitor's new budget; answered by its status (an error without one)."""
        if self._live is None:
            why = (
                "monitoring runs in the training loop (budget 0), which has no budget to change"
                if self.config.monitor.budget <= 0
                else f"the run is {self._state_name}: it has no live monitor now"
            )
            self.emit(ErrorEvent(message=why, request_id=msg.request_id, fatal=False))
            return
        self._live.set_budget(msg.budget)
        self.emit(self._live.status().event(self.step_count, msg.request_id))

    def _path_request(self, msg: MeasurePath) -> None:
        if self.prepared is None or self.monitor is None:
            self.emit(
                ErrorEvent(
                    message="the model is not ready yet; try again once the run is running",
                    request_id=msg.request_id,
                    fatal=False,
                )
            )
            return
        self._path(f"on request at step {self.step_count}", msg.request_id)

    def _inspect(self, msg: Inspect) -> None:
        request_id = msg.request_id
        try:
            if self.prepared is None:
                raise RuntimeError("the model is not ready yet; try again once the run is running")
            p = self.prepared
            assert self.trigger is not None
            report = inspect_sample(
                p.model,
                self.config.monitor.cam_method,
                p.model.cam_layer_name,
                p.test,
                self.trigger,
                self.target,
                msg.index,
                self.region,
            )
        except (IndexError, ValueError, RuntimeError) as err:
            self.emit(ErrorEvent(message=str(err), request_id=request_id, fatal=False))
            return
        self.emit(
            SampleReport(
                request_id=request_id,
                step=self.step_count,
                target_class=self.target,
                **report,
            )
        )

    # -- the loop ------------------------------------------------------------------------
    def run(self, poll: Poll | None = None) -> RunStatus:  # the state it ended in
        """Prepare, then step until done, applying control messages between steps."""
        self._poll = poll or _no_poll
        try:
            if self.state is None:
                self.prepare()
            while self.state in ACTIVE:
                for msg in self._poll(self.state is RunStatus.PAUSED):
                    self.handle(msg)
                if self.state is RunStatus.RUNNING:
                    self.step()
        except StopRequested:
            self._status(RunStatus.STOPPED, "stopped by user during preparation")
        except Exception as err:
            self.emit(
                ErrorEvent(message=f"{type(err).__name__}: {err}", traceback=traceback.format_exc())
            )
            self._status(RunStatus.FAILED, f"{type(err).__name__}: {err}")
        finally:
            self._end_live(flush=False)
        assert self.state is not None  # prepare() set it first thing
        return self.state
