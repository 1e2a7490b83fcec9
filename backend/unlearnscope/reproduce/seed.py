"""One seed of the protocol: clean model, backdoored model, unlearning, full-test evaluation."""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tqdm import tqdm

from ..commands.inputs import BadInput
from ..config import RunConfig
from ..scores import retention
from .source import DataSource

# The reproduction measures, it does not watch: no heatmap frames, no per-step TAR or
# monitor evaluation (early stops still measure ASR every step of their phase). This
# changes no number: monitoring never touches the weights or the sampling generator.
# The TAR set is larger than the dashboard's, for a steadier median.
MONITOR_OVERRIDES: dict[str, Any] = {
    "probe_count": 0,
    "frame_every": 0,
    "tar_every": 0,
    "eval_every": 0,
    "tar_set_size": 1000,
}


class ReproduceFailed(RuntimeError):
    """A seed's run failed; the message says why."""


@dataclass
class SeedResult:
    seed: int
    metrics: dict[str, float | None]  # the table's rows (keys of ROWS)
    cached: dict[str, bool]  # "clean_model" / "backdoored_model": loaded, not trained
    evaluations: list[dict[str, Any]] = field(default_factory=list)  # full test set
    data: dict[str, Any] = field(default_factory=dict)  # n_train, n_test, classes, n_params


def run_seed(
    cfg: RunConfig,
    source: DataSource,
    device: str | None,
    cache_dir: Path,
    stream: Any = None,
) -> SeedResult:
    """The whole protocol for `cfg.seed`: clean model, backdoored model, unlearning.

    Progress bars and per-stage lines go to `stream` (default: sys.stderr).
    """
    from ..commands.console import ConsoleReporter
    from ..events import ErrorEvent, Evaluation, RunFinished
    from ..ml.attacks.triggers import make_trigger
    from ..ml.checkpoints import FileModelStore
    from ..ml.datasets import DataUnavailable, load_splits
    from ..ml.engine import Engine
    from ..ml.models.classifier import count_parameters
    from ..ml.preparation import resolve_device
    from ..ml.reference import clean_reference
    from ..states import RunStatus

    if cfg.attack.kind == "inputaware":
        # The clean reference's ASR needs the trained trigger generator, which exists only
        # after the attack stage; reproduce measures that before it.
        raise BadInput(
            "attack.kind: reproduce does not support 'inputaware' (its trigger generator is "
            "trained with the backdoored model); use badnets, blended, wanet or sig"
        )
    stream = stream if stream is not None else sys.stderr
    store = FileModelStore(cache_dir / "models")
    data_cache = cache_dir / "data"
    dev = resolve_device(device)
    t_total = time.perf_counter()

    t0 = time.perf_counter()
    with _Bar("data", stream) as bar:
        try:
            train, test = load_splits(
                cfg.data, source.root, seed=cfg.seed, cache_dir=data_cache, progress=bar.update
            )
        except DataUnavailable as err:
            raise BadInput(f"--data-dir {source.given}: {err}") from err
        bar.update(1, 1, f"{len(train)} train / {len(test)} test images")
    trigger = make_trigger(cfg.attack, cfg.data.image_size)
    time_data = time.perf_counter() - t0

    with _Bar("clean model training", stream) as bar:
        ref = clean_reference(
            cfg, train, test, trigger, dev, store, progress=lambda d, t, m: bar.update(d, t, m)
        )
        if ref.cached:
            bar.update(1, 1, "loaded from the cache")
    print(
        f"[clean model{' (cached)' if ref.cached else ''}] CA {ref.ca:.2f}%  "
        f"ASR {ref.asr:.2f}% (trigger on a model that never saw the poison)",
        file=stream,
    )
    sizes = {
        "n_train": len(train),
        "n_test": len(test),
        "classes": list(train.classes),
        "n_params": count_parameters(ref.model),
    }
    del ref.model, train, test

    reporter = ConsoleReporter(stream)
    events: list[Any] = []

    def emit(event: Any) -> None:
        events.append(event)
        reporter(event)

    engine = Engine(
        cfg, emit, device=device, data_dir=source.root, data_cache_dir=data_cache, store=store
    )
    t0 = time.perf_counter()
    state = engine.run()
    engine_time = time.perf_counter() - t0
    if state is not RunStatus.COMPLETED:
        errors = [e.message for e in events if isinstance(e, ErrorEvent)]
        raise ReproduceFailed(
            f"seed {cfg.seed}: the unlearning run ended {state.value}"
            + (f": {errors[-1]}" if errors else "")
        )
    p = engine.prepared
    assert p is not None
    evaluations = [e for e in events if isinstance(e, Evaluation)]
    finished = next(e for e in events if isinstance(e, RunFinished))
    # An Evaluation is computed right after the event before it (ProbesEvent, PhaseEnd),
    # so its duration is the gap between the two timestamps.
    time_eval = sum(
        e.t - events[i - 1].t for i, e in enumerate(events) if isinstance(e, Evaluation) and i
    )
    before, after = evaluations[0], evaluations[-1]
    assert finished.after["ca"] == after.ca
    time_engine_data = p.timings.get("data", 0.0)
    time_backdoor = p.timings.get("attack_training", 0.0)
    metrics: dict[str, float | None] = {
        "clean_ca": ref.ca,
        "clean_asr": ref.asr,
        "backdoor_ca": before.ca,
        "backdoor_asr": before.asr,
        "after_ca": after.ca,
        "after_asr": after.asr,
        "ca_retention": retention(before.ca, after.ca) or float("nan"),
        "asr_reduction": (
            before.asr - after.asr if before.asr is not None and after.asr is not None else None
        ),
        "tar_before": before.tar_median,
        "tar_after": after.tar_median,
        "unlearning_steps": float(engine.step_count),
        "time_data": time_data + time_engine_data,
        "time_clean_training": ref.timings["training"],
        "time_backdoor_training": time_backdoor,
        "time_fisher_unlearning": engine_time - time_engine_data - time_backdoor - time_eval,
        "time_evaluation": time_eval + ref.timings["evaluation"],
        "time_total": time.perf_counter() - t_total,
    }
    return SeedResult(
        seed=cfg.seed,
        metrics=metrics,
        cached={"clean_model": ref.cached, "backdoored_model": p.cached},
        evaluations=[
            {k: getattr(e, k) for k in ("label", "step", "ca", "asr", "tar_median", "tar_mean")}
            for e in evaluations
        ],
        data=sizes,
    )


class _Bar:
    """A tqdm bar fed by progress callbacks: update(done, total, message_or_metrics)."""

    def __init__(self, desc: str, stream: Any) -> None:
        self.bar = tqdm(total=1, desc=desc, file=stream, dynamic_ncols=True)

    def update(self, done: int, total: int, info: str | dict[str, float] = "") -> None:
        self.bar.total = total
        self.bar.n = done
        if isinstance(info, dict) and info:
            self.bar.set_postfix({k: f"{v:.3f}" for k, v in info.items()}, refresh=False)
        elif isinstance(info, str) and info:
            self.bar.set_postfix_str(info, refresh=False)
        self.bar.refresh()

    def __enter__(self) -> _Bar:
        return self

    def __exit__(self, *exc: object) -> None:
        self.bar.close()
