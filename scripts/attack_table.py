"""Train the backdoored `paper` model once per attack on CIFAR-10 and record CA, ASR, RA.

    PYTHONPATH=backend python scripts/attack_table.py \
        DATA_DIR OUT_DIR EPOCHS TRAIN_SIZE BATCH [attack[:field=value,...] ...]

DATA_DIR: the CIFAR-10 ImageFolder (train/, test/); OUT_DIR gets one JSON per attack
("clean": the clean reference model of the same recipe, ml/reference.py). Models go to
the shared cache (~/.unlearnscope/cache/models) under their usual keys, so a dashboard run
with the same settings starts from them. The recipe is the `paper` preset's (small CNN
width 32, one-cycle lr 0.1, the full test set) with EPOCHS epochs on TRAIN_SIZE training
images (0: all 50000) in batches of BATCH, and each attack's defaults, or the AttackConfig
fields given after a colon (`wanet:wanet_strength=1.0`, `sig:poison_rate=0.05,sig_delta=30`).
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any

import torch

from unlearnscope.config import RunConfig
from unlearnscope.ml.attacks.triggers import make_trigger
from unlearnscope.ml.checkpoints import FileModelStore
from unlearnscope.ml.datasets import load_splits
from unlearnscope.ml.preparation import prepare
from unlearnscope.ml.reference import clean_reference
from unlearnscope.presets import preset_config
from unlearnscope.settings import Settings

ATTACKS = ("wanet", "sig", "inputaware", "clean", "blended")


def printer(kind: str) -> Any:
    """A progress callback printing at most once a minute."""
    last = [0.0]

    def progress(stage: str, done: int, total: int, msg: str, m: dict[str, float]) -> None:
        if time.perf_counter() - last[0] > 60 or done == total:
            last[0] = time.perf_counter()
            print(f"{kind} {stage} {done}/{total} {msg} {m}", flush=True)

    return progress


def clean_row(
    cfg: RunConfig, data_dir: Path, cache: Path, store: FileModelStore, progress: Any
) -> dict[str, Any]:
    train, test = load_splits(cfg.data, data_dir, seed=cfg.seed, cache_dir=cache / "data")
    trigger = make_trigger(cfg.attack, cfg.data.image_size)
    ref = clean_reference(
        cfg,
        train,
        test,
        trigger,
        torch.device("cpu"),
        store,
        lambda d, t, m: progress("clean_training", d, t, "", m),
    )
    return {
        "attack": "clean",
        "epochs": cfg.training.epochs,
        "train_size": cfg.data.train_size,
        "batch_size": cfg.training.batch_size,
        "model_key": ref.key,
        "cached": ref.cached,
        "ca": ref.ca,
        "asr_badnets": ref.asr,
        "threads": torch.get_num_threads(),
    }


def main() -> None:
    data_dir, out, epochs = Path(sys.argv[1]), Path(sys.argv[2]), int(sys.argv[3])
    train_size, batch = int(sys.argv[4]) or None, int(sys.argv[5])
    kinds = sys.argv[6:] or list(ATTACKS)
    out.mkdir(parents=True, exist_ok=True)
    cache = Settings().cache_dir
    store = FileModelStore(cache / "models")
    for spec in kinds:
        kind, _, given = spec.partition(":")
        fields = {k: json.loads(v) for k, v in (kv.split("=", 1) for kv in given.split(",") if kv)}
        attack = "badnets" if kind == "clean" else kind
        cfg = preset_config(
            "paper",
            {
                "attack": {"kind": attack, **fields},
                "training": {"epochs": epochs, "batch_size": batch},
                "data": {"train_size": train_size},
            },
        )
        t0, c0 = time.perf_counter(), time.process_time()
        progress = printer(kind)

        if kind == "clean":
            row = clean_row(cfg, data_dir, cache, store, progress)
            row.update(wall_s=time.perf_counter() - t0, cpu_s=time.process_time() - c0)
            print(json.dumps(row), flush=True)
            (out / "clean.json").write_text(json.dumps(row, indent=2))
            continue
        p = prepare(cfg, torch.device("cpu"), data_dir, cache / "data", store, progress)
        row = {
            "attack": kind,
            "epochs": cfg.training.epochs,
            "train_size": cfg.data.train_size,
            "batch_size": cfg.training.batch_size,
            "attack_config": cfg.attack.key_fields(),
            "model_key": p.model_key,
            "cached": p.cached,
            "n_poisoned": len(p.train.poisoned),
            "n_cross": len(p.train.cross),
            **p.backdoor_metrics,
            "wall_s": time.perf_counter() - t0,
            "cpu_s": time.process_time() - c0,
            "threads": torch.get_num_threads(),
        }
        print(json.dumps(row), flush=True)
        name = kind + "".join(f"-{k}={v}" for k, v in fields.items())
        (out / f"{name}.json").write_text(json.dumps(row, indent=2))


if __name__ == "__main__":
    main()
