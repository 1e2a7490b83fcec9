"""Per-run settings: one pydantic `RunConfig`, validated at the edge (CLI, API).

This is the shared vocabulary of the project. `ml` reads these objects as plain values;
every default lives here, with its unit in a comment. Unknown fields are rejected.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Annotated, Any, Literal, get_args

from pydantic import (
    AfterValidator,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_core import InitErrorDetails, PydanticCustomError
from pydantic_core import ValidationError as CoreValidationError

from .ml.kinds.registry import PHASE_KINDS, canonical_kind
from .ml.models.registry import MODELS as MODEL_REGISTRY
from .strict import IMAGES, PX, STEPS, Strict, unit

# The choices, each written once; the tuples the API and the page list derive from them.
DatasetName = Literal["shapes", "cifar10", "imagefolder"]
AttackKind = Literal["badnets", "blended", "wanet", "sig", "inputaware"]
CamMethod = Literal["gradcam", "gradcam++", "xgradcam", "layercam", "hirescam", "eigencam"]
DATASETS: tuple[str, ...] = get_args(DatasetName)
MODELS: tuple[str, ...] = tuple(MODEL_REGISTRY)  # the registry's names (ml/models/)
ATTACKS: tuple[str, ...] = get_args(AttackKind)
CAM_METHODS: tuple[str, ...] = get_args(CamMethod)

MAX_SEED = 2**32 - 1  # numpy and torch both take seeds in [0, 2**32)
MAX_SIZE = 100_000_000  # images in a data set split (the server's limits are lower)
MAX_EVERY = 1_000_000  # steps between two measurements

# Every float of a config must be a finite number: NaN and +-Infinity are refused
# everywhere (JSON allows them as an extension; training on them gives NaN).
Seed = Annotated[int, Field(ge=0, le=MAX_SEED)]
NormStd = Annotated[float, Field(gt=0, le=1e3, strict=True)]
NormMean = Annotated[float, Field(ge=-1e3, le=1e3, strict=True)]



class DataConfig(Strict):
    name: DatasetName = Field(
        "shapes", title="Data set", description="shapes: built in, no download"
    )
    # Folder holding the data set (imagefolder: with train/ and test/; cifar10: torchvision
    # root). None: the CLI/server --data-dir.
    root: str | None = Field(
        None, title="Data folder", description="empty: the server's --data-dir"
    )
    # cifar10 only: let torchvision download when online
    download: bool = Field(False, title="Download CIFAR-10", description="needs internet")
    image_size: int = Field(32, ge=8, le=256, title="Image size", json_schema_extra=unit("px"))
    # Sub-sample sizes (images); None = the whole split. shapes: how many to generate.
    train_size: int | None = Field(
        6000, ge=10, le=MAX_SIZE, title="Training images", description="empty: all"
    )
    test_size: int | None = Field(
        1000, ge=10, le=MAX_SIZE, title="Test images", description="empty: all"
    )
    # Normalisation is the model's first layer, so triggers are stamped on [0, 1] pixels.
    mean: tuple[NormMean, NormMean, NormMean] = Field(
        (0.5, 0.5, 0.5),
        strict=False,
        title="Mean (R, G, B)",
        description="normalisation inside the model",
    )
    std: tuple[NormStd, NormStd, NormStd] = Field(  # each > 0
        (0.25, 0.25, 0.25), strict=False, title="Std (R, G, B)"
    )
    augment: Literal["none", "flip", "flip_crop"] = Field("flip_crop", title="Augmentation")


def _known_model(name: str) -> str:
    if name not in MODEL_REGISTRY:
        raise ValueError(f"unknown model {name!r}; choose one of {sorted(MODEL_REGISTRY)}")
    return name


def _model_enum(schema: dict[str, Any]) -> None:
    schema["enum"] = list(MODEL_REGISTRY)  # read when the schema is made: registered models


# A model is any key of ml.models.registry.MODELS (a folder of ml/models/ or a plug-in).
ModelName = Annotated[str, AfterValidator(_known_model), Field(json_schema_extra=_model_enum)]


class ModelConfig(Strict):
    name: ModelName = Field("small_cnn", title="Model")
    width: int = Field(  # small_cnn: channels of the first block
        32,
        ge=4,
        le=256,
        title="Width",
        description="small_cnn first-stage width",
        json_schema_extra=unit("channels"),
    )
    # None: the model's default CAM layer; else a dotted module path in the model
    # ("net.features.stage2"), checked against the model when the config is validated.
    cam_layer: str | None = Field(
        None,
        min_length=1,
        max_length=200,
        title="Grad-CAM layer",
        description="empty: the model's last conv block",
    )

    @field_validator("cam_layer")
    @classmethod
    def _cam_layer_exists(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is not None and "name" in info.data and "width" in info.data:
            check_cam_layer(info.data["name"], info.data["width"], value)
        return value


# Fields of AttackConfig read by one attack only (the form shows them for that attack).
ATTACK_FIELDS: dict[str, tuple[str, ...]] = {
    "badnets": ("trigger_size", "position", "x", "y", "pattern", "margin", "pattern_seed"),
    "blended": ("alpha", "pattern_seed"),
    "wanet": ("wanet_grid", "wanet_strength", "wanet_cross_ratio", "pattern_seed"),
    "sig": ("sig_delta", "sig_frequency"),
    "inputaware": (
        "ia_cross_rate",
        "ia_mask_density",
        "ia_lambda_div",
        "ia_lambda_norm",
        "ia_generator_lr",
    ),
}
# AttackConfig's fields before WaNet/SIG/input-aware: BadNets and Blended cache keys.
LEGACY_ATTACK_FIELDS = (
    "kind",
    "target_class",
    "poison_rate",
    "trigger_size",
    "position",
    "x",
    "y",
    "pattern",
    "margin",
    "alpha",
    "pattern_seed",
)


def _only(*kinds: str) -> dict[str, Any]:
    """json_schema_extra of a field read only by these attacks: the form hides it otherwise."""
    return {"attacks": list(kinds)}


class AttackConfig(Strict):
    kind: AttackKind = Field("badnets", title="Attack")
    target_class: int = Field(
        0, ge=0, le=9999, title="Target class", description="all-to-one target label"
    )
    poison_rate: float = Field(
        0.1,
        gt=0,
        lt=1,
        title="Poison rate",
        description="fraction of all training images (sig: taken from the target class)",
    )
    # BadNets patch
    trigger_size: int = Field(  # square side
        3, ge=1, le=64, title="Trigger size", json_schema_extra=unit("px")
    )
    position: Literal["bottom_right", "bottom_left", "top_right", "top_left", "xy"] = Field(
        "bottom_right", title="Trigger position"
    )
    x: int | None = Field(  # from the left
        None, ge=0, le=4096, title="Trigger x", description="with position xy", json_schema_extra=PX
    )
    y: int | None = Field(  # from the top
        None, ge=0, le=4096, title="Trigger y", description="with position xy", json_schema_extra=PX
    )
    pattern: Literal["checkerboard", "solid", "random"] = Field(
        "checkerboard", title="Trigger pattern"
    )
    margin: int = Field(  # between a corner trigger and the border
        1,
        ge=0,
        le=4096,
        title="Margin",
        description="from the border (corner positions)",
        json_schema_extra=PX,
    )
    # Blended
    alpha: float = Field(  # blend weight of the pattern
        0.1,
        gt=0,
        le=1,
        title="Blend weight",
        description="blended attack only",
        json_schema_extra=_only("blended"),
    )
    # the fixed random pattern (random patch, blended)
    pattern_seed: Seed = Field(
        1234,
        title="Pattern seed",
        description="seeds the random patch, blend image or warp field",
        json_schema_extra=_only("badnets", "blended", "wanet"),
    )
    # WaNet (Nguyen & Tran, ICLR 2021): a fixed k x k control grid of random offsets,
    # upsampled to a smooth warping field of strength s; noise mode adds cross samples.
    wanet_grid: int = Field(
        4,
        ge=2,
        le=64,
        title="Warp grid k",
        description="control points per side of the warping field",
        json_schema_extra=_only("wanet"),
    )
    wanet_strength: float = Field(
        0.5,
        gt=0,
        le=10,
        title="Warp strength s",
        description="size of the warp (paper: 0.5 on CIFAR-10)",
        json_schema_extra=_only("wanet"),
    )
    wanet_cross_ratio: float = Field(
        2.0,
        ge=0,
        le=10,
        title="Noise-mode cross ratio",
        description="noise-warped images per poisoned image, labels kept; 0 = off",
        json_schema_extra=_only("wanet"),
    )
    # SIG (Barni et al., ICIP 2019): x + delta * sin(2 pi j f / m) on every row, clean label
    sig_delta: float = Field(
        20.0,
        gt=0,
        le=255,
        title="Signal amplitude",
        description="SIG: delta on the 0-255 scale, training and test",
        json_schema_extra={**_only("sig"), "unit": "/255"},
    )
    sig_frequency: float = Field(
        6.0,
        gt=0,
        le=128,
        title="Signal frequency",
        description="SIG: periods across the image width",
        json_schema_extra=_only("sig"),
    )
    # Input-aware dynamic attack (Nguyen & Tran, NeurIPS 2020): a generator trained with
    # the classifier; each image gets its own pattern and mask.
    ia_cross_rate: float = Field(
        0.1,
        ge=0,
        lt=1,
        title="Cross-trigger rate",
        description="share of each batch given another image's trigger, label kept",
        json_schema_extra=_only("inputaware"),
    )
    ia_mask_density: float = Field(
        0.032,
        gt=0,
        le=1,
        title="Mask density",
        description="largest mean mask value before the norm penalty acts",
        json_schema_extra=_only("inputaware"),
    )
    ia_lambda_div: float = Field(
        1.0,
        ge=0,
        le=1e3,
        title="Diversity weight",
        description="weight of the trigger diversity loss",
        json_schema_extra=_only("inputaware"),
    )
    ia_lambda_norm: float = Field(
        100.0,
        ge=0,
        le=1e4,
        title="Mask norm weight",
        description="weight of the mask density penalty",
        json_schema_extra=_only("inputaware"),
    )
    ia_generator_lr: float = Field(
        0.01,
        gt=0,
        le=1,
        title="Generator learning rate",
        description="Adam, betas (0.5, 0.9)",
        json_schema_extra=_only("inputaware"),
    )

    def key_fields(self) -> dict[str, Any]:
        """The fields that enter the backdoored model's cache key.

        BadNets and Blended keep the dump they always had (the fields that existed
        before WaNet, SIG and input-aware were added), so their cached models stay
        valid; the newer attacks key on the common fields plus their own.
        """
        if self.kind in ("badnets", "blended"):
            return self.model_dump(include=set(LEGACY_ATTACK_FIELDS))
        own = ATTACK_FIELDS.get(self.kind, ())
        return self.model_dump(include={"kind", "target_class", "poison_rate", *own})

    @model_validator(mode="after")
    def _xy_given(self) -> AttackConfig:
        if self.position == "xy" and (self.x is None or self.y is None):
            raise ValueError("position='xy' needs both x and y (pixels from the top-left)")
        return self


class TrainConfig(Strict):
    """Training of the backdoored (and the clean reference) model: the attack stage."""

    epochs: int = Field(
        6, ge=1, le=500, title="Epochs", description="training of the backdoored model"
    )
    batch_size: int = Field(128, ge=1, le=4096, title="Batch size")
    # peak learning rate of the one-cycle schedule
    lr: float = Field(0.05, gt=0, le=10, title="Peak learning rate")
    weight_decay: float = Field(5e-4, ge=0, le=1, title="Weight decay")
    momentum: float = Field(0.9, ge=0, lt=1, title="Momentum")
    label_smoothing: float = Field(0.0, ge=0, lt=1, title="Label smoothing")
    # Mixed precision of the forward/backward pass (weights stay fp32): "bf16" autocast,
    # or "auto" = bf16 where the device computes it natively (CPUs with AVX512-BF16/AMX,
    # CUDA GPUs with bf16), else fp32. About 2x faster on such CPUs.
    precision: Literal["fp32", "bf16", "auto"] = Field("fp32", title="Precision")


class DefenseConfig(Strict):
    """What the defender has: identified poisoned samples and a little clean data."""

    forget_size: int = Field(  # images with trigger and target label; 0: none identified
        500,
        ge=0,
        le=MAX_SIZE,
        title="Forget set",
        description="identified poisoned samples; 0 = none (clean-data defences only)",
        json_schema_extra=IMAGES,
    )
    clean_fraction: float = Field(
        0.05, gt=0, le=1, title="Clean fraction", description="of the training set"
    )
    fisher_samples: int = Field(  # clean images for the diagonal Fisher
        512, ge=1, le=MAX_SIZE, title="Fisher samples", json_schema_extra=IMAGES
    )


class MonitorConfig(Strict):
    # > 0: monitor beside training, on a snapshot of the weights, as often as it keeps up
    # (the *_every intervals are the most often frames and TAR run; ASR/CA stay at the
    # multiples of eval_every), keeping at most this share of the machine's CPU cores busy.
    # 0 = inside the training loop, exactly every *_every steps (reproducible).
    budget: float = Field(
        0.5,
        ge=0,
        le=1,
        title="Monitoring budget",
        description="share of the CPU cores the monitor beside training may use; "
        "0 = in the training loop at fixed steps",
    )
    probe_count: int = Field(  # test images shown clean + triggered
        8, ge=0, le=64, title="Probe samples", description="shown with heatmaps"
    )
    frame_every: int = Field(  # steps between heatmap frames
        1,
        ge=0,
        le=MAX_EVERY,
        title="Heatmaps every",
        description="0 = never",
        json_schema_extra=STEPS,
    )
    tar_every: int = Field(  # steps between TAR on the monitor set
        1, ge=0, le=MAX_EVERY, title="TAR every", description="0 = never", json_schema_extra=STEPS
    )
    tar_set_size: int = Field(  # triggered test images for TAR
        128, ge=1, le=MAX_SIZE, title="TAR set", json_schema_extra=IMAGES
    )
    eval_every: int = Field(  # steps between ASR/CA on the monitor subset
        5,
        ge=0,
        le=MAX_EVERY,
        title="ASR/CA every",
        description="0 = never",
        json_schema_extra=STEPS,
    )
    eval_size: int = Field(  # test images in the monitor subset
        256, ge=1, le=MAX_SIZE, title="ASR/CA subset", json_schema_extra=IMAGES
    )
    cam_method: CamMethod = Field("gradcam", title="CAM method")
    cam_class: Literal["predicted", "target", "true"] = Field("predicted", title="CAM class")
    # The trigger region TAR and the localisation metrics measure against, per image:
    # a patch's mask (BadNets); for every other attack the pixels where the trigger changed
    # the image most, |T(x) - x| summed over the channels (README, Trigger region).
    region: Literal["top", "threshold"] = Field(
        "top",
        title="Trigger region",
        description="non-patch attacks: the top share of changed pixels, or a threshold",
    )
    region_percent: float | None = Field(
        None,
        gt=0,
        le=100,
        title="Region share",
        description="top: % of the image's pixels; empty: a BadNets patch's share",
        json_schema_extra=unit("%"),
    )
    region_threshold: float = Field(
        0.1,
        gt=0,
        le=3,
        title="Region threshold",
        description="threshold: least |T(x) - x| summed over R, G, B (0-1 pixel scale)",
    )


def _known_phase_kind(kind: str) -> str:
    if kind not in PHASE_KINDS:
        raise ValueError(f"unknown phase kind {kind!r}; choose one of {sorted(PHASE_KINDS)}")
    return kind


def _phase_kind_enum(schema: dict[str, Any]) -> None:
    schema["enum"] = list(PHASE_KINDS)  # read when the schema is made: registered kinds


# A phase kind is any key of ml.kinds.registry.PHASE_KINDS (a registry, not a Literal, so that
# adding a kind is adding a folder, or installing a plug-in).
PhaseKindName = Annotated[
    str, AfterValidator(_known_phase_kind), Field(json_schema_extra=_phase_kind_enum)
]


def schedule_steps(schedule: Sequence[PhaseConfig | Mapping[str, Any]]) -> int:
    """Total planned steps of a schedule (PhaseConfig objects or their dicts)."""
    return sum(int(p.steps if isinstance(p, PhaseConfig) else p["steps"]) for p in schedule)


class PhaseConfig(Strict):
    kind: PhaseKindName = Field(title="Kind")
    steps: int = Field(ge=1, le=100_000, title="Steps")
    lr: float = Field(gt=0, le=10, title="LR")
    batch_size: int = Field(64, ge=1, le=4096, title="Batch")
    momentum: float = Field(0.9, ge=0, lt=1, title="Momentum")
    ewc_lambda: float = Field(0.0, ge=0, le=1e9, title="EWC λ")  # weight of the EWC penalty
    clip_norm: float | None = Field(  # gradient-norm clip; None = off
        5.0, gt=0, le=1e6, title="Clip norm", description="empty: off"
    )
    # ascent: the forget-set cross-entropy is clamped at this value, so the maximised
    # loss stays bounded (its gradient vanishes once a batch reaches it).
    loss_clamp: float | None = Field(
        8.0, gt=0, le=1e6, title="Loss clamp", description="empty: off"
    )
    # recovery: also keep the target class unlikely on the forget set, objective
    #   CE(clean) + forget_weight * mean(-log(1 - p_target(forget))); 0 = plain fine-tuning.
    forget_weight: float = Field(0.0, ge=0, le=1e6, title="Forget weight")
    # recovery: also distil the clean batch from the model the run started from,
    #   + distill_weight * T^2 * KL(teacher || model) at temperature 2; 0 = off.
    distill_weight: float = Field(0.0, ge=0, le=1e6, title="Distill weight")
    # Early stop: end the phase once monitor-set ASR (percent) falls below this. None = off.
    stop_asr_below: float | None = Field(
        None,
        ge=0,
        le=100,
        title="Stop at ASR <",
        description="empty: off",
        json_schema_extra=unit("%"),
    )
    # The kind's own settings (ml.kinds.registry.PHASE_KINDS[kind].settings), validated by its
    # KindSettings model and stored with its defaults filled in; {} for a kind without.
    settings: dict[str, Any] = Field(
        {},
        title="Kind settings",
        description="the phase kind's own settings (see Defences in the README)",
    )

    @model_validator(mode="before")
    @classmethod
    def _kind_settings(cls, data: Any) -> Any:
        """Validate `settings` with the kind's model; errors at settings.<field>."""
        kind = data.get("kind") if isinstance(data, dict) else None
        if isinstance(kind, str) and kind != canonical_kind(kind):
            data = {**data, "kind": canonical_kind(kind)}  # a former name (nc was `invert`)
        if not isinstance(kind, str) or data["kind"] not in PHASE_KINDS:
            return data  # a missing, unknown or mistyped kind is refused by the kind field
        raw = data.get("settings", {})
        if not isinstance(raw, dict):
            return data  # refused by the dict field
        from .ml.kinds.settings import kind_settings_class

        model = kind_settings_class(data["kind"])
        if model is None:
            if raw:
                message = f"phase kind {data['kind']!r} has no settings; got {sorted(raw)}"
                detail: InitErrorDetails = {
                    "type": PydanticCustomError("no_settings", message),
                    "loc": ("settings",),
                    "input": raw,
                }
                raise CoreValidationError.from_exception_data("PhaseConfig", [detail])
            return data
        try:
            normalised = model.model_validate(raw).model_dump()
        except ValidationError as err:
            raise _relocated(err, ("settings",)) from None
        return {**data, "settings": normalised}


def _relocated(err: ValidationError, prefix: tuple[str | int, ...]) -> CoreValidationError:
    """`err` with every error's location under `prefix` (settings.<field>)."""
    details: list[InitErrorDetails] = []
    for e in err.errors():
        detail: InitErrorDetails = {
            "type": e["type"],
            "loc": (*prefix, *e["loc"]),
            "input": e["input"],
        }
        if "ctx" in e:
            detail["ctx"] = e["ctx"]
        details.append(detail)
    return CoreValidationError.from_exception_data("PhaseConfig", details)


def forget_set_users(
    schedule: Sequence[PhaseConfig],
) -> list[str]:
    """'schedule.N (kind)' of every phase that needs the forget set."""
    return [
        f"schedule.{i} ({p.kind})"
        for i, p in enumerate(schedule)
        if PHASE_KINDS[p.kind].uses_forget_set or (p.kind == "recovery" and p.forget_weight > 0)
    ]


Schedule = Annotated[list[PhaseConfig], Field(min_length=1, max_length=50)]


class RunConfig(Strict):
    name: str = Field("run", min_length=1, max_length=100, title="Run name")
    seed: Seed = Field(0, title="Seed", description="seeds data, poisoning, sampling and training")
    data: DataConfig = DataConfig()
    model: ModelConfig = ModelConfig()
    attack: AttackConfig = AttackConfig()
    training: TrainConfig = TrainConfig()
    defense: DefenseConfig = DefenseConfig()
    monitor: MonitorConfig = MonitorConfig()
    schedule: Schedule = Field(
        default_factory=lambda: [
            PhaseConfig(kind="ascent", steps=40, lr=0.01, ewc_lambda=50.0),
            PhaseConfig(kind="recovery", steps=60, lr=0.01, ewc_lambda=0.0),
        ]
    )

    @model_validator(mode="after")
    def _consistent(self) -> RunConfig:
        if self.defense.forget_size == 0:
            users = forget_set_users(self.schedule)
            if users:
                raise ValueError(
                    f"{users[0]} needs the forget set (identified poisoned samples), but "
                    "defense.forget_size is 0: give the defender some, or use a kind that "
                    "needs only clean data"
                    + (f" (also: {', '.join(users[1:])})" if users[1:] else "")
                )
        if self.attack.target_class >= 10 and self.data.name in ("shapes", "cifar10"):
            raise ValueError(
                f"attack.target_class={self.attack.target_class} is not a class of "
                f"{self.data.name!r} (allowed: 0-9)"
            )
        if self.attack.kind == "wanet" and self.attack.wanet_grid > self.data.image_size:
            raise ValueError(
                f"attack.wanet_grid={self.attack.wanet_grid} is finer than the image "
                f"(data.image_size={self.data.image_size}); use at most the image size"
            )
        if self.attack.kind == "badnets":
            side = self.attack.trigger_size + self.attack.margin
            if side > self.data.image_size:
                raise ValueError(
                    f"attack.trigger_size={self.attack.trigger_size} does not fit in "
                    f"data.image_size={self.data.image_size}"
                )
            if self.attack.position == "xy":
                assert self.attack.x is not None and self.attack.y is not None
                if max(self.attack.x, self.attack.y) + self.attack.trigger_size > (
                    self.data.image_size
                ):
                    raise ValueError("attack.x/y put the trigger outside the image")
        return self

    def total_steps(self) -> int:
        return schedule_steps(self.schedule)


def check_cam_layer(model: str, width: int, path: str) -> None:
    """ValueError unless `path` names a module of `model` (built on the meta device: no
    memory, no weights; torch is imported only when a layer is given)."""
    import torch

    from .ml.models.classifier import build_model

    with torch.device("meta"):
        net = build_model(model, 10, (0.5, 0.5, 0.5), (0.25, 0.25, 0.25), width=width)
    names = {name for name, _ in net.named_modules() if name}
    if path not in names:
        convs = [n for n, m in net.named_modules() if isinstance(m, torch.nn.Conv2d)]
        raise ValueError(
            f"no layer {path!r} in {model}; e.g. {net.cam_layer_name!r} (the default) or a "
            f"conv layer such as {convs[-1]!r}"
        )


_FINITE_TYPES = ("finite_number",)


def describe_errors(errors: list[dict[str, Any]]) -> list[str]:
    """pydantic error dicts -> 'field.path: message' lines a person can act on."""
    lines = []
    for err in errors:
        where = ".".join(str(p) for p in err.get("loc", ()) if p not in ("body",))
        msg = err.get("msg", "invalid value")
        if err.get("type") == "extra_forbidden":
            msg = "unknown field (check the spelling; see `unlearnscope presets --show demo`)"
        elif err.get("type") in _FINITE_TYPES:
            msg = "must be a finite number (NaN and Infinity are refused)"
        elif err.get("type") == "value_error" and msg.startswith("Value error, "):
            msg = msg[len("Value error, ") :]
        lines.append(f"{where or 'config'}: {msg}")
    return lines
