"""Request and response bodies of the HTTP API, with the examples shown in /docs."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from pydantic.config import JsonValue

from ..config import PhaseConfig, Schedule

# The largest integer the database holds (SQLite: signed 64-bit). Every integer a client
# sends (path, query) is bounded by it at the edge, so none reaches the database as an
# overflow: past it, a 422 naming the parameter.
DB_INT_MAX = 2**63 - 1

_TINY_SCHEDULE: list[JsonValue] = [
    {"kind": "ascent", "steps": 4, "lr": 0.01, "batch_size": 16, "ewc_lambda": 10.0},
    {"kind": "recovery", "steps": 7, "lr": 0.01, "batch_size": 16},
]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class HealthOut(BaseModel):
    status: str = Field(examples=["ok"])
    version: str = Field(examples=["0.1.0"])
    device: str = Field(examples=["cpu"])
    active_runs: int
    queued_runs: int
    max_active_runs: int
    # Set when the server serves its history read-only (its home cannot be written), or
    # refuses new runs because the disk is full: why, and what to do.
    read_only: str | None = None
    disk_full: str | None = None


class PhaseKindOut(BaseModel):
    kind: str
    label: str
    description: str
    uses_forget_set: bool
    # a detection kind: what it flags becomes the forget set of the later phases
    finds_forget_set: bool = False
    # an attack on the defended model (relearn, qra): it closes a schedule; the verdict
    # judges the model before such trailing phases
    attack: bool = False
    # the published defaults of the common phase fields the editor fills in on choosing it
    defaults: dict[str, Any] = Field(default_factory=dict)
    # JSON schema of the kind's own settings (PhaseConfig.settings); None: it has none
    settings_schema: dict[str, Any] | None = None


class AttackKindOut(BaseModel):
    kind: str
    label: str
    # JSON schema of the attack's own settings (AttackConfig.settings)
    settings_schema: dict[str, Any]


class OptionsOut(BaseModel):
    datasets: list[str]
    models: list[str]
    attacks: list[str]
    cam_methods: list[str]
    # the phase-kind registry in its order: {kind, label, description, uses_forget_set,
    # defaults, settings_schema}
    phase_kinds: list[PhaseKindOut]
    # the attack registry in its order: {kind, label, settings_schema}
    attack_kinds: list[AttackKindOut]
    presets: dict[str, dict[str, Any]]  # name -> full RunConfig as JSON
    # name -> what the preset was measured to do (scripts/preset_outcomes.py): {verdict,
    # numbers, measured, machine, seconds, status}; presets never measured are absent
    preset_outcomes: dict[str, dict[str, Any]] = {}
    preset_descriptions: dict[str, str] = {}  # name -> the preset in a sentence
    default_preset: str
    run_config_schema: dict[str, Any]  # JSON schema of RunConfig, to build a form from
    states: dict[str, list[str]]  # run states: all, active, stepping, live, terminal
    close_codes: dict[str, int]  # WebSocket close codes by name (normal, lagging, gone, ...)


class RunOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": "3f2a9c1b7d4e",
                    "name": "tiny",
                    "status": "running",
                    "message": "",
                    "error": None,
                    "step": 5,
                    "total_steps": 11,
                    "queue_position": None,
                    "created_at": "2025-01-01T12:00:00Z",
                    "started_at": "2025-01-01T12:00:01Z",
                    "finished_at": None,
                    "last_seq": 42,
                    "device": "cpu",
                    "schedule": _TINY_SCHEDULE,
                    "summary": None,
                    "exit_code": None,
                    "config": {"name": "tiny", "...": "the whole RunConfig"},
                    "phase_index": 1,
                    "phase_kind": "recovery",
                    "verdict": None,
                }
            ]
        }
    )

    id: str
    name: str
    status: str  # queued | preparing | running | paused | stopped | completed | failed |
    #              interrupted
    message: str
    error: str | None
    step: int  # steps taken
    total_steps: int  # the step the run ends at as things stand (plan.total)
    queue_position: int | None  # 1 = next to start; None when not queued
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    last_seq: int  # newest event: stream with ?after=last_seq to get only what follows
    device: str | None
    schedule: list[dict[str, Any]]  # the schedule in force, after any edits
    summary: dict[str, Any] | None  # before/after CA, ASR, TAR once finished
    exit_code: int | None  # of the worker process, when it ended abnormally
    config: dict[str, Any]
    # The phase the run is in (or ended in), 0-based, and its kind; None when this server
    # process has not seen the run's phases (before the first, or run by an earlier server).
    phase_index: int | None = None
    phase_kind: str | None = None
    # Did the defence remove the backdoor (unlearnscope/verdict.py, against the run's
    # config `success`): {outcome, passed, tone, label, icon, sentence, final, criteria};
    # None until the run finished.
    verdict: dict[str, Any] | None = None
    # The schedule as planned, as edited and as run, and the step total every view shows
    # (ml/schedule.py run_plan): {total, taken, planned_total, in_force_total, edited,
    # phases: [{index, kind, steps, planned_steps, taken, reason}]}.
    plan: dict[str, Any] | None = None


class ControlOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"op": "pause", "applied": True, "status": "paused", "step": 3, "message": ""}
            ]
        }
    )

    op: str
    applied: bool  # False: sent, not yet confirmed by the engine (it applies it between
    #                steps; watch the stream or GET the run)
    status: str  # the run's status after the action
    step: int  # step at which it took effect
    message: str = ""


class ScheduleEditIn(Strict):
    """The whole new schedule: past phases unchanged, the current one at least as long as
    the steps it has run, everything after it free."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"schedule": _TINY_SCHEDULE}]},
    )

    schedule: Schedule


class ScheduleEditOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"accepted": True, "step": 5, "total_steps": 11, "schedule": _TINY_SCHEDULE}
            ]
        }
    )

    accepted: bool
    step: int  # the step boundary at which the new schedule took effect
    total_steps: int
    schedule: list[PhaseConfig]
    seq: int  # of the schedule_edit event in the run's log


class EventOut(BaseModel):
    """One event: its fields as in the WebSocket's JSON (docs/api.md); an event with
    bytes lists its `parts` and where to fetch them (`bytes_url`)."""

    model_config = ConfigDict(extra="allow")

    seq: int
    type: str
    t: float


class EventsOut(BaseModel):
    run_id: str
    after: int
    last_seq: int  # the run's newest event: more to fetch when events[-1].seq < last_seq
    events: list[EventOut]


class FrameProbeOut(BaseModel):
    probe: int  # position among the probe samples
    index: int  # test-split index (use with /samples/{index})
    label: int
    pred: list[int]  # (clean, triggered)
    conf: list[float]
    tar: float | str | None  # of the triggered variant
    overlay: dict[str, str]  # variant -> PNG url
    heatmap: dict[str, str]
    image: dict[str, str]


class FramesOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "step": 4,
                    "requested_step": 4,
                    "seq": 30,
                    "size": 32,
                    "count": 4,
                    "trigger_box": [28, 28, 31, 31],
                    "maps_url": "/api/runs/3f2a9c1b7d4e/frames/4/maps",
                    "probes": [
                        {
                            "probe": 0,
                            "index": 17,
                            "label": 3,
                            "pred": [3, 0],
                            "conf": [0.91, 0.99],
                            "tar": 5.2,
                            "overlay": {
                                "clean": "/api/runs/3f2a9c1b7d4e/frames/4/0/clean.png",
                                "triggered": "/api/runs/3f2a9c1b7d4e/frames/4/0/triggered.png",
                            },
                            "heatmap": {"clean": "...?view=heatmap", "triggered": "..."},
                            "image": {"clean": "...?view=image", "triggered": "..."},
                        }
                    ],
                }
            ]
        }
    )

    step: int  # of the frame returned: the newest at or before requested_step
    requested_step: int
    seq: int
    size: int
    count: int
    trigger_box: list[int] | None
    maps_url: str  # the raw (P, 2, H, W) uint8 maps
    probes: list[FrameProbeOut]


class FrameStepsOut(BaseModel):
    steps: list[int]  # steps that have heatmap frames


class SampleOut(BaseModel):
    """A test sample under the model: images and overlays as PNG data URLs (one-off
    answers; the stream never carries base64)."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "run_id": "3f2a9c1b7d4e",
                    "index": 17,
                    "step": 11,
                    "source": "live",
                    "label": 3,
                    "target_class": 0,
                    "classes": ["circle", "square", "..."],
                    "size": 32,
                    "probs": {"clean": [0.01, 0.9, "..."], "triggered": [0.95, 0.01, "..."]},
                    "pred": {"clean": 1, "triggered": 0},
                    "tar": 4.8,
                    "images": {"clean": "data:image/png;base64,...", "triggered": "..."},
                    "overlays": {
                        "clean": {
                            "predicted": "data:image/png;base64,...",
                            "true": "...",
                            "target": "...",
                        },
                        "triggered": {"predicted": "...", "true": "...", "target": "..."},
                    },
                }
            ]
        }
    )

    run_id: str
    index: int
    step: int  # the model's step
    source: str  # "live" (the running worker) or "saved" (the run's final model)
    label: int
    target_class: int | None  # None: the trigger is unknown (the "target" maps: predicted)
    classes: list[str] | None
    size: int
    probs: dict[str, list[float]]  # variant -> class probabilities
    pred: dict[str, int]
    tar: float | None  # of the triggered image, predicted-class map
    images: dict[str, str]  # variant -> PNG data URL
    overlays: dict[str, dict[str, str]]  # variant -> class choice -> PNG data URL


class UploadOut(BaseModel):
    """A stored upload; its paths are relative to the server's data root and go into a
    run as model.file or data.root."""

    path: str = Field(description="the file, or the unpacked folder")
    sha256: str
    size: int = Field(description="bytes uploaded")
    name: str = Field(description="the name it was uploaded under")
    kind: str = Field(description="file | folder (an unpacked .zip)")
    reused: bool = Field(description="the same bytes were uploaded before")
    model_files: list[str] = Field(description="checkpoints found (model.file candidates)")
    data_folders: list[str] = Field(description="folders with train/ and test/ (data.root)")


class CheckOut(BaseModel):
    """What the check found when it loaded the model and classified a sample."""

    model: str
    source: str
    file: str
    model_key: str = Field(description="file- + the file's sha256: runs on it group by this")
    n_params: int
    image_size: int
    num_classes: int
    classes: list[str]
    cam_layer: str = Field(description="the layer Grad-CAM reads")
    sample: int = Field(description="test images classified")
    clean_accuracy: float = Field(description="percent, on the sample")
    chance: float = Field(description="percent: guessing")
    trigger: str = Field(description="unknown | attack (settings) | file (BackdoorBench)")
    target_class: int | None
    asr: float | None = Field(description="percent, on the sample, when the trigger is known")
    forget_size: int = Field(description="identified poisoned samples the file brings")
    seconds: float
    warnings: list[str]
