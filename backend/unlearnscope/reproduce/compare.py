"""`unlearnscope reproduce --schedules a,b,...`: every listed defence on the same backdoored
model, each followed by the two attacks on the purified model, as one table.

Per seed the backdoored model is trained once (or loaded from the cache: the schedule is
not part of its key), then for each defence a run of the engine with the schedule
`DEFENCE_SCHEDULES[name] + attack_phases(retune)`: the reactivation attack (`qra`, which
changes no weight) then the retuning attack (`relearn`, the paper's setting or our
stronger default). Its rows (all on the full test set):

- CA, ASR of the purified model (RunFinished.after: the model before the attacks);
- ASR after QRA (RunFinished.reactivated) and after re-tuning (RunFinished.retuned): Min
  et al., NeurIPS 2024; DER after re-tuning (scores.py) uses the re-tuned ASR;
- RA, robust accuracy: triggered non-target test images classified as their true class,
  measured on the purified model;
- DER, defence effectiveness rating (scores.py; BackdoorBench; FT-SAM, Zhu et al. ICCV 2023):
  (max(0, dASR) - max(0, dCA) + 1) / 2 with dASR = ASR_before - ASR_after and
  dCA = CA_before - CA_after as fractions (percent / 100): 1 is perfect, 0.5 is "no change";
- TAR median of the purified model, the defence's steps and its wall time (without the
  relearn phase, preparation and evaluations).
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from ..commands.inputs import BadInput
from ..config import RunConfig, describe_errors
from ..ml.kinds.registry import PHASE_KINDS
from ..presets import DEFENCE_SCHEDULES, QRA_PHASE, RELEARN_PAPER_PHASE, RELEARN_PHASE
from ..scores import der, der_retuned
from .seed import ReproduceFailed
from .source import DataSource

# (key, label, decimals): the comparison table's columns, in order.
COLUMNS: list[tuple[str, str, int]] = [
    ("ca", "CA %", 2),
    ("asr", "ASR %", 2),
    ("asr_qra", "ASR after QRA %", 2),
    ("asr_retuned", "ASR after re-tuning %", 2),
    ("ra", "RA %", 2),
    ("der", "DER", 3),
    ("der_retuned", "DER after re-tuning", 3),
    ("tar_after", "TAR median", 2),
    ("steps", "steps", 0),
    ("wall_time", "wall time s", 1),
]


def parse_schedules(text: str) -> list[str]:
    """'a,b,c' -> names, each a key of DEFENCE_SCHEDULES (BadInput naming the bad one)."""
    names = [n.strip() for n in text.split(",") if n.strip()]
    if not names:
        raise BadInput("--schedules: give at least one defence")
    known = [n for n in DEFENCE_SCHEDULES if n != "relearn"]  # relearn closes each run
    unknown = [n for n in names if n not in known]
    if unknown:
        raise BadInput(
            f"--schedules: unknown defence {unknown[0]!r}; choose from {', '.join(known)}"
        )
    if len(set(names)) != len(names):
        raise BadInput("--schedules: a defence is listed twice")
    return names


@dataclass
class DefenceResult:
    name: str
    schedule: list[dict[str, Any]]
    metrics: dict[str, float | None]
    before: dict[str, float | None]
    evaluations: list[dict[str, Any]] = field(default_factory=list)
    ra_before: float | None = None  # RA of the backdoored model (measured when asked)
    classes: list[str] = field(default_factory=list)


RETUNES = ("paper", "strong")  # --retune: the paper's relearn setting, or our default


def attack_phases(retune: str = "paper") -> list[dict[str, Any]]:
    """The attacks that close every compared schedule: qra, then relearn."""
    return [QRA_PHASE, RELEARN_PAPER_PHASE if retune == "paper" else RELEARN_PHASE]


def defence_config(base: RunConfig, name: str, retune: str = "paper") -> RunConfig:
    schedule = [*DEFENCE_SCHEDULES[name], *attack_phases(retune)]
    data = base.model_dump()
    data["schedule"] = schedule
    data["name"] = f"{base.name}-{name}"
    try:
        return RunConfig.model_validate(data)
    except ValidationError as err:
        lines = describe_errors([dict(e) for e in err.errors()])
        raise BadInput(f"--schedules {name}: " + "; ".join(lines)) from None


def run_defence(
    cfg: RunConfig,
    name: str,
    source: DataSource,
    device: str | None,
    cache_dir: Path,
    stream: Any = None,
    measure_before: bool = False,
) -> DefenceResult:
    """One defence + the retuning attack on the seed's backdoored model (cached).

    With `measure_before`, also the RA of the backdoored model, before the first step.
    """
    from ..commands.console import ConsoleReporter
    from ..events import ErrorEvent, Evaluation, RunFinished, StepMetrics
    from ..ml.attacks.poisoning import triggered_non_target
    from ..ml.checkpoints import FileModelStore
    from ..ml.datasets import DataUnavailable
    from ..ml.engine import Engine
    from ..ml.metrics import robust_accuracy
    from ..states import RunStatus

    stream = stream if stream is not None else sys.stderr
    reporter = ConsoleReporter(stream)
    events: list[Any] = []

    def emit(event: Any) -> None:
        events.append(event)
        reporter(event)

    engine = Engine(
        cfg,
        emit,
        device=device,
        data_dir=source.root,
        data_cache_dir=cache_dir / "data",
        store=FileModelStore(cache_dir / "models"),
    )
    relearn_at = len(cfg.schedule)  # the first of the closing attack phases
    while relearn_at > 0 and PHASE_KINDS[cfg.schedule[relearn_at - 1].kind].attack:
        relearn_at -= 1
    ra: float | None = None
    defence_steps = 0
    try:
        engine.prepare()
    except DataUnavailable as err:
        raise BadInput(f"--data-dir {source.given}: {err}") from err
    p = engine.prepared
    assert p is not None
    asr_set = triggered_non_target(p.test, p.trigger, cfg.attack.target_class)
    ra_before = (
        robust_accuracy(engine.model, asr_set.images, asr_set.labels) if measure_before else None
    )
    while engine.state is RunStatus.RUNNING:
        more = engine.step()
        if engine.phase_index >= relearn_at and ra is None:
            # the defence is over (its phases ended and were evaluated): measure RA on it
            defence_steps = engine.step_count
            ra = robust_accuracy(engine.model, asr_set.images, asr_set.labels)
        if not more:
            break
    # the defence's optimisation time: its steps, not the evaluations between them
    defence_time = sum(
        e.step_time for e in events if isinstance(e, StepMetrics) and e.phase_index < relearn_at
    )
    if engine.state is not RunStatus.COMPLETED:
        errors = [e.message for e in events if isinstance(e, ErrorEvent)]
        raise ReproduceFailed(
            f"seed {cfg.seed}, defence {name}: the run ended {engine.state}"
            + (f": {errors[-1]}" if errors else "")
        )
    finished = next(e for e in events if isinstance(e, RunFinished))
    after, retuned = finished.after, finished.retuned or {}
    reactivated = finished.reactivated or {}
    metrics: dict[str, float | None] = {
        "ca": after["ca"],
        "asr": after["asr"],
        "asr_qra": reactivated.get("asr"),
        "qra_alone": reactivated.get("adversarial"),
        "asr_retuned": retuned.get("asr"),
        "ra": ra,
        "der": der(finished.before, after),
        "der_retuned": der_retuned(finished.before, after, retuned.get("asr")),
        "tar_after": after["tar_median"],
        "steps": float(defence_steps),
        "wall_time": defence_time,
        "ca_retuned": retuned.get("ca"),
    }
    return DefenceResult(
        name=name,
        schedule=[ph.model_dump(mode="json") for ph in cfg.schedule],
        metrics=metrics,
        before=dict(finished.before),
        evaluations=[
            {k: getattr(e, k) for k in ("label", "step", "ca", "asr", "tar_median")}
            for e in events
            if isinstance(e, Evaluation)
        ],
        ra_before=ra_before,
        classes=list(p.test.classes),
    )


def compare_seed(
    base: RunConfig,
    names: list[str],
    source: DataSource,
    device: str | None,
    cache_dir: Path,
    stream: Any = None,
    on_row: Callable[[dict[str, Any]], object] | None = None,
    retune: str = "paper",
) -> dict[str, Any]:
    """All listed defences for `base.seed`: {seed, before, rows: [{name, metrics, ...}]}.

    `on_row(seed_so_far)` is called after each defence (the command writes the table so
    far, so a long comparison that is cut short keeps its finished rows).
    """
    stream = stream if stream is not None else sys.stderr
    rows: list[DefenceResult] = []
    for name in names:
        print(f"== seed {base.seed}: {name} ==", file=stream)
        result = run_defence(
            defence_config(base, name, retune), name, source, device, cache_dir, stream, not rows
        )
        m = result.metrics
        print(
            f"{name}: CA {m['ca']:.2f}% ASR {m['asr']:.2f}% -> after QRA "
            f"{_cell(m['asr_qra'], 2)}%, re-tuned {_cell(m['asr_retuned'], 2)}%, RA "
            f"{m['ra']:.2f}%, DER {m['der']:.3f} ({m['steps']:.0f} steps, "
            f"{m['wall_time']:.0f} s)",
            file=stream,
        )
        rows.append(result)
        if on_row is not None:
            on_row(_seed_dict(base.seed, rows))
    return _seed_dict(base.seed, rows)


def _seed_dict(seed: int, rows: list[DefenceResult]) -> dict[str, Any]:
    return {
        "seed": seed,
        "before": {**rows[0].before, "ra": rows[0].ra_before},
        "classes": rows[0].classes,
        "rows": [asdict(r) for r in rows],
    }


def _cell(value: Any, decimals: int) -> str:
    return "n/a" if value is None else f"{float(value):.{decimals}f}"


def render_comparison(report: dict[str, Any]) -> str:
    lines = [
        f"### Defences on {report['dataset']}: {report['model']} ({report['preset']} preset), "
        "BadNets",
        "",
        f"- data: {report['data_source']}; CA, ASR and RA on the full test set",
        f"- attack training: {report['training']}",
        f"- every defence followed by the attacks: {report['relearn']}",
        f"- machine: {report['machine']}",
        "",
    ]
    for seed in report["seeds"]:
        b = seed["before"]
        header = ["defence", *[label for _, label, _ in COLUMNS]]
        lines += [
            f"Seed {seed['seed']}:",
            "",
            "| " + " | ".join(header) + " |",
            "|---|" + "---:|" * (len(header) - 1),
            "| none (backdoored) | "
            + " | ".join(
                [
                    _cell(b.get("ca"), 2),
                    _cell(b.get("asr"), 2),
                    "",
                    "",
                    _cell(b.get("ra"), 2),
                    "",
                    "",
                    _cell(b.get("tar_median"), 2),
                    "0",
                    "",
                ]
            )
            + " |",
        ]
        for row in seed["rows"]:
            m = row["metrics"]
            cells = [row["name"], *[_cell(m.get(k), d) for k, _, d in COLUMNS]]
            lines.append("| " + " | ".join(cells) + " |")
        lines.append("")
    lines.append("Schedules: " + "; ".join(f"{k}: {v}" for k, v in report["schedules"].items()))
    return "\n".join(lines) + "\n"


def schedule_text(schedule: list[dict[str, Any]]) -> str:
    parts = []
    for ph in schedule:
        opts = [f"{ph['steps']} steps", f"lr {ph['lr']:g}", f"batch {ph.get('batch_size', 64)}"]
        opts += [f"{k} {ph[k]:g}" for k in ("forget_weight", "distill_weight") if ph.get(k)]
        settings = ph.get("settings") or {}
        opts += [f"{k} {v}" for k, v in settings.items()]
        parts.append(f"{ph['kind']} ({', '.join(opts)})")
    return " -> ".join(parts)


def build_comparison(
    base: RunConfig,
    names: list[str],
    source: DataSource,
    device: str,
    seeds: list[dict[str, Any]],
    retune: str = "paper",
) -> dict[str, Any]:
    from ..ml.datasets import CIFAR10_CLASSES
    from .table import _machine

    t = base.training
    cifar = source.kind == "cifar10" or list(CIFAR10_CLASSES) == seeds[0]["classes"]
    return {
        "dataset": "CIFAR-10" if cifar else "an ImageFolder data set",
        "data_source": source.describe(),
        "model": base.model.name,
        "preset": base.name,
        "training": (
            f"{t.epochs} epochs, batch {t.batch_size}, lr {t.lr:g}; {base.attack.describe()}, "
            f"target class {base.attack.target_class}"
        ),
        "relearn": schedule_text(attack_phases(retune)),
        "machine": _machine(device),
        "schedules": {n: schedule_text(DEFENCE_SCHEDULES[n]) for n in names},
        "columns": [{"key": k, "label": label} for k, label, _ in COLUMNS],
        "config": base.model_dump(mode="json"),
        "seeds": seeds,
    }
