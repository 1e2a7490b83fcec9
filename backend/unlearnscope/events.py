"""Typed events: what an engine reports, in order, through its one `emit` callback.

Every event carries the run-local sequence number `seq` (1, 2, 3, ... with no gaps) and a
wall-clock timestamp `t` (seconds since the epoch, set by the engine when it emits), so a
client that reconnects asks for "everything after seq N" and loses nothing, and latency
can be measured from the engine to the client.

Heatmaps travel in `FramesEvent` as raw uint8 maps (no images, no base64): the probe
images themselves are sent once, in `ProbesEvent`, and overlays are rendered where needed.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

from .states import RunState


class EventBase(BaseModel):
    model_config = ConfigDict(extra="forbid")
    seq: int = 0  # set by the emitter
    t: float = 0.0  # set by the emitter (time.time())


class RunStarted(EventBase):
    type: Literal["run_started"] = "run_started"
    device: str
    model: str
    n_params: int
    dataset: str
    classes: list[str]
    target_class: int | None  # None: the trigger is unknown (until a TriggerFound)
    total_steps: int
    schedule: list[dict[str, Any]]
    trigger_box: list[int] | None  # [x0, y0, x1, y1] pixels, x1/y1 exclusive; None: no patch
    image_size: int
    # How the trigger region TAR measures against is defined (ml/region.py), one line:
    # "trigger patch (its mask)" or e.g. "top 0.879% most changed pixels, |T(x)−x|".
    trigger_region: str | None = None
    # The backdoored model's cache key (ml/preparation.py backdoor_key): runs with the same
    # key unlearn the same model (the leaderboard groups by it). "" in older logs.
    model_key: str = ""
    # Where the trigger ASR and TAR use comes from: "attack" (planted here, or described
    # by the run's attack settings), "file" (a triggered test set in the model's file),
    # "unknown" (nothing measured until a phase recovers one: see TriggerFound).
    trigger_source: str = "attack"
    # Where the forget set of the first phases comes from: "oracle" (the truly poisoned
    # samples: only a simulation has them), "folder" (the user's identified samples),
    # "none" (no forget set until a detection phase finds one: see ForgetSetFound).
    forget_source: str = "oracle"
    forget_size: int = 0  # samples in that forget set
    training_size: int = 0  # samples of the training set a detection phase searches
    # Whether the truly poisoned samples are known (planted here, a BackdoorBench file):
    # then detection quality is shown; a phase never sees them unless forget_source is
    # "oracle".
    truth_known: bool = False


def _share(x: float | None) -> str:
    return "n/a" if x is None else f"{100 * x:.1f}%"


class ForgetSetFound(EventBase):
    """A detection phase decided which training samples are poisoned: they are the forget
    set of every later phase. Quality against the truth only when the truth is known."""

    type: Literal["forget_set_found"] = "forget_set_found"
    step: int
    phase_index: int
    kind: str
    rule: str  # how it decided, one line
    # Indices into the training set (the data set's order; for an image folder sorted by
    # class, then file name), the most suspicious first.
    indices: list[int]
    training_size: int
    suspect_classes: list[int] = Field(default_factory=list)  # classes judged poisoned
    truth_known: bool = False
    true_flagged: int | None = None  # flagged samples that are truly poisoned
    poisoned: int | None = None  # truly poisoned samples in the training set
    precision: float | None = None  # shares in [0, 1]
    recall: float | None = None
    auc: float | None = None  # ROC-AUC of the detector's scores

    def describe(self) -> str:
        """In words: what was flagged, and how well when the truth is known."""
        words = (
            f"{len(self.indices):,} training images flagged by {self.kind} (phase "
            f"{self.phase_index + 1}) out of {self.training_size:,}"
        )
        if self.truth_known and self.poisoned is not None:
            auc = "n/a" if self.auc is None else f"{self.auc:.3f}"
            words += (
                f"; {self.true_flagged or 0:,} of them are truly poisoned (precision "
                f"{_share(self.precision)}, recall {_share(self.recall)} of the "
                f"{self.poisoned:,} poisoned, ROC-AUC {auc})"
            )
        return words


class TriggerFound(EventBase):
    """A phase recovered a trigger while none was known: from this step on, ASR, RA and
    TAR are measured with it (and labelled as measured with a recovered trigger)."""

    type: Literal["trigger_found"] = "trigger_found"
    step: int
    phase_index: int
    kind: str
    source: str  # "recovered by nc (phase 1)"
    target_class: int
    trigger_region: str
    # The recovered trigger itself (so a finished run's saved model is inspected with it):
    # mask (size, size) and pattern (3, size, size), float32 in [0, 1], C-order bytes.
    size: int = 0
    mask: bytes | None = None
    pattern: bytes | None = None


class Progress(EventBase):
    """Progress of a long preparation stage (data, attack training, Fisher)."""

    type: Literal["progress"] = "progress"
    stage: str  # "data" | "attack_training" | "fisher" | ...
    done: int
    total: int
    message: str = ""
    metrics: dict[str, float] = Field(default_factory=dict)


class ProbesEvent(EventBase):
    """The fixed probe samples, once: their test indices, labels and pixels."""

    type: Literal["probes"] = "probes"
    indices: list[int]
    labels: list[int]
    size: int  # H = W
    # (P, 2, H, W, 3) uint8, variant 0 = clean, 1 = triggered, C-order bytes
    images: bytes
    # (P, H, W) uint8 (1 = in the trigger region of the triggered variant), C-order bytes;
    # None when no region is defined
    region: bytes | None = None


class StatusEvent(EventBase):
    type: Literal["status"] = "status"
    status: RunState  # an engine reports preparing..failed; the server queued, interrupted
    message: str = ""
    step: int = 0


class PhaseStart(EventBase):
    type: Literal["phase_start"] = "phase_start"
    phase_index: int
    kind: str
    step: int  # global step at which the phase begins (first step of the phase is step+1)
    planned_steps: int


PhaseEndReason = Literal["completed", "early_stop", "stopped"]


class PhaseEnd(EventBase):
    type: Literal["phase_end"] = "phase_end"
    phase_index: int
    kind: str
    step: int  # global step of the phase's last step
    reason: PhaseEndReason = "completed"
    steps: int = 0  # steps the phase took
    # early_stop: the monitor-subset ASR (percent) that ended it, and the threshold it fell
    # below (the phase's stop_asr_below); None otherwise.
    asr: float | None = None
    threshold: float | None = None


class StepMetrics(EventBase):
    type: Literal["step"] = "step"
    step: int  # global, 1-based
    phase_index: int
    phase_step: int  # 1-based within the phase
    kind: str
    loss: float  # the optimised objective (ascent: -clamped CE + EWC)
    ce_loss: float  # cross-entropy on the batch (forget set for ascent, clean for recovery)
    ewc_penalty: float  # lambda * sum F (theta - theta*)^2, 0 when lambda = 0
    lr: float
    grad_norm: float  # before clipping
    step_time: float  # seconds of the optimisation step alone
    # seconds the training loop spent on monitoring after this step: the snapshot hand-off
    # to a concurrent monitor, or the measurements themselves when monitoring is synchronous
    monitor_time: float
    # the phase kind's own named losses of this step (NAD: ce, attention; I-BAU: inner,
    # outer; ...), charted per kind; {} for kinds that report none
    losses: dict[str, float] = Field(default_factory=dict)


class PhaseVisualEvent(EventBase):
    """What a phase kind shows beside the heatmaps (ml/kinds/protocol.PhaseVisual): an image
    (I-BAU's universal perturbation, Neural Cleanse's recovered trigger) with scalars, or
    named values (a histogram of ANP's mask values, a per-layer pruned count)."""

    type: Literal["phase_visual"] = "phase_visual"
    step: int  # the global step after which it was made
    phase_index: int
    kind: str
    name: str  # one panel per name; the latest event of a name replaces the one before
    height: int = 0  # of `image`, pixels; 0 without an image
    width: int = 0
    image: bytes | None = None  # (height, width, 3) uint8, C order; None: no image
    values: dict[str, list[float]] = Field(default_factory=dict)
    scalars: dict[str, float] = Field(default_factory=dict)
    text: str = ""  # one line for people
    ticks: list[str] = Field(default_factory=list)  # the bars' names, in order; [] = numbered


class Measurement(EventBase):
    """Monitor-set measurements of the model as it was right after global step `step`.

    Made by the monitor from a snapshot of the weights, so with a concurrent monitor it
    arrives after later steps' `StepMetrics`: place it by `step`, not by arrival. Fields
    that were not measured at this step are None.
    """

    type: Literal["measurement"] = "measurement"
    step: int
    phase_index: int
    tar_median: float | None = None  # over the TAR set (triggered non-target test images)
    tar_mean: float | None = None
    mass_fraction: float | None = None  # mean trigger mass fraction over the TAR set
    asr: float | None = None  # percent, monitor subset
    ca: float | None = None  # percent, monitor subset
    ra: float | None = None  # robust accuracy, percent, same images and pass as `asr`
    # localisation of the trigger region by the TAR set's maps, means over its images
    rank_accuracy: float | None = None  # relevance rank accuracy, 0-1
    pointing: float | None = None  # pointing game hit rate, 0-1
    auc: float | None = None  # ROC-AUC of the map as a region detector, 0-1
    # Where the triggered images go: how many of the monitor subset's triggered non-target
    # images each class got (K,), from the same predictions as `asr`. A defence that moves
    # the trigger's effect to another class shows here while ASR alone reads as success.
    triggered_classes: list[int] | None = None
    seconds: float = 0.0  # monitor time spent on this measurement
    lag: int = 0  # steps training had taken beyond `step` when this was emitted


class MonitorStatus(EventBase):
    """What the live monitor costs and covers, every few seconds while it runs (and as the
    answer to a budget edit). Only with a concurrent monitor (`monitor.budget > 0`)."""

    type: Literal["monitor_status"] = "monitor_status"
    request_id: str = ""  # of the budget edit it answers; "" otherwise
    step: int  # training's step when it was said
    budget: float  # percent: the most the monitor may slow training
    slowdown: float | None = None  # percent: what it believes it costs now; None: not known yet
    full: float | None = None  # percent: the slowdown while it works all the time
    duty: float  # share of wall time it may work (0-1)
    frames_per_step: float | None = None  # heatmap frames / training steps, recent seconds
    behind: int = 0  # steps from the oldest exact ASR/CA still waiting to training's step
    waiting: int = 0  # exact ASR/CA measurements still waiting


class FramesEvent(EventBase):
    """Grad-CAM maps of every probe sample at one step."""

    type: Literal["frames"] = "frames"
    step: int
    size: int  # H = W of each map
    count: int  # P probe samples
    # (P, 2, H, W) uint8 min-max normalised maps (0..255), variant 0 clean, 1 triggered
    maps: bytes
    preds: list[list[int]]  # (P, 2) predicted class
    confs: list[list[float]]  # (P, 2) softmax probability of the predicted class
    tars: list[float | None]  # (P,) TAR of the triggered variant; None without a mask


class Evaluation(EventBase):
    """Full test-set evaluation: before unlearning, at every phase end, at the end."""

    type: Literal["evaluation"] = "evaluation"
    step: int
    label: str  # "before" | "phase 1 (ascent)" | ... | "final"
    ca: float  # percent
    asr: float | None  # percent; None while the trigger is unknown
    tar_median: float | None
    tar_mean: float | None
    mass_fraction: float | None
    n_clean: int
    n_triggered: int
    ra: float | None = None  # robust accuracy, percent, from the same predictions as `asr`
    rank_accuracy: float | None = None  # see Measurement
    pointing: float | None = None
    auc: float | None = None
    triggered_classes: list[int] | None = None  # see Measurement; the full triggered set


class PathEvaluated(EventBase):
    """The backdoor-connected path (ml/path.py): ASR and CA of the models between the
    backdoored weights (alpha 0) and the model as it was after `step` (alpha 1), on the
    monitor subset. Made at every phase end and on request (control `path`)."""

    type: Literal["path"] = "path"
    step: int
    phase_index: int
    label: str  # "phase 1 (ascent)" | "on request"
    request_id: str = ""
    alphas: list[float]
    asr: list[float | None]  # percent; None while no trigger is known
    ca: list[float]  # percent
    seconds: float = 0.0  # what it cost


class ScheduleEdit(EventBase):
    type: Literal["schedule_edit"] = "schedule_edit"
    request_id: str = ""
    accepted: bool
    step: int  # step boundary at which it took effect (or was refused)
    reason: str = ""
    schedule: list[dict[str, Any]]  # the schedule in force after the edit
    total_steps: int = 0  # its planned total (config.schedule_steps)


class SampleReport(EventBase):
    """Answer to an inspect-sample request."""

    type: Literal["sample"] = "sample"
    request_id: str = ""
    index: int
    step: int
    label: int
    target_class: int | None  # None: the trigger is unknown
    size: int
    images: bytes  # (2, H, W, 3) uint8: clean, triggered
    probs: list[list[float]]  # (2, K) class probabilities
    # Maps (uint8 (H, W) bytes) per variant ("clean", "triggered") and class choice
    # ("predicted", "true", "target").
    maps: dict[str, dict[str, bytes]]
    tar: float | None
    # (H, W) uint8, 1 inside the triggered image's trigger region (what `tar` is measured
    # on); None where the TAR is undefined.
    region: bytes | None = None


class ErrorEvent(EventBase):
    type: Literal["error"] = "error"
    message: str
    traceback: str = ""
    request_id: str = ""
    fatal: bool = True


class RunFinished(EventBase):
    type: Literal["run_finished"] = "run_finished"
    step: int
    before: dict[str, float | None]
    # the model the defence left: the evaluation before any trailing `relearn` phases
    after: dict[str, float | None]
    wall_time: float  # seconds, preparation included
    # the evaluation after trailing `relearn` phases (the retuning attack); None without
    retuned: dict[str, float | None] | None = None
    # what the reactivation attack (a `qra` phase) did to the model it attacked, on the
    # full test set: `asr` with the trigger and its perturbation, `asr_without` the same
    # images without the perturbation, `adversarial` the target rate of the perturbation
    # alone on clean non-target images; None without a qra phase
    reactivated: dict[str, float | None] | None = None


Event = Annotated[
    RunStarted
    | Progress
    | ProbesEvent
    | StatusEvent
    | PhaseStart
    | PhaseEnd
    | StepMetrics
    | Measurement
    | MonitorStatus
    | FramesEvent
    | Evaluation
    | ScheduleEdit
    | SampleReport
    | ErrorEvent
    | RunFinished
    | PhaseVisualEvent
    | TriggerFound
    | ForgetSetFound
    | PathEvaluated,
    Field(discriminator="type"),
]

EVENT_ADAPTER: TypeAdapter[Event] = TypeAdapter(Event)

# Control messages into the engine are typed too: see control.py.
