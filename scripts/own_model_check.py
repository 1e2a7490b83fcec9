"""The user's-model path end to end (on CUDA when there is one): models made outside
UnlearnScope by scripts/train_outside.py, then a BackdoorBench record with the paper's
schedule (its bd_train as the forget set) and with Neural Cleanse, and a ResNet-18
checkpoint whose trigger is unknown: Neural Cleanse, then recovery.

    python scripts/own_model_check.py OUT_DIR   (reads .gpu/cifar10-jpg.tar.gz; a copy of
                                                 ../shared/data/cifar10-jpg.tar.gz)

Prints one line per run (state, time, the trigger found, the evaluations, before/after)
and writes OUT_DIR/gpu_check.json. docs/own-model.md gives the numbers of one run on an
H200."""

import json
import subprocess
import sys
import tarfile
import time
from pathlib import Path

from unlearnscope.ml.engine import Engine
from unlearnscope.presets import build_config

OUT = Path(sys.argv[1])
DATA = Path("/tmp/cifar")
if not (DATA / "train").exists():
    DATA.mkdir(parents=True, exist_ok=True)
    with tarfile.open(".gpu/cifar10-jpg.tar.gz") as t:
        t.extractall(DATA, filter="data")
t0 = time.time()
subprocess.run(
    [
        sys.executable,
        "scripts/train_outside.py",
        "--cifar",
        ".gpu/cifar10-jpg.tar.gz",
        "--out",
        "/tmp/outside",
        "--epochs",
        "18",
    ],
    check=True,
)
print(f"train_outside: {time.time() - t0:.0f} s", flush=True)
NORM = {"mean": [0.4914, 0.4822, 0.4465], "std": [0.247, 0.243, 0.261]}
DATA_CFG = {"name": "imagefolder", "root": str(DATA), "train_size": None, "test_size": None, **NORM}
BB = {
    "name": "preact_resnet18",
    "source": "backdoorbench",
    "file": "/tmp/outside/record/attack_result.pt",
}
R18 = {"name": "resnet18", "source": "file", "file": "/tmp/outside/resnet18_sticker.pt"}
RUNS = {
    "bb-paper": ("paper", {"data": DATA_CFG, "model": BB}),
    "bb-nc": ("paper-nc", {"data": DATA_CFG, "model": BB}),
    "r18-unknown-nc-recovery": (
        "paper",
        {
            "data": DATA_CFG,
            "model": R18,
            "attack": {"known": False},
            "schedule": [
                {"kind": "nc", "steps": 1200, "lr": 0.01, "batch_size": 32},
                {
                    "kind": "recovery",
                    "steps": 200,
                    "lr": 0.005,
                    "batch_size": 128,
                    "forget_weight": 0,
                },
            ],
        },
    ),
}
summary = {}
for name, (preset, over) in RUNS.items():
    cfg = build_config(preset, over)
    events = []
    t0 = time.time()
    e = Engine(cfg, events.append, device="cuda", data_cache_dir=Path("/tmp/dcache"))
    state = e.run()
    wall = time.time() - t0
    fin = [ev for ev in events if ev.type == "run_finished"]
    found = [ev for ev in events if ev.type == "trigger_found"]
    errs = [ev.message for ev in events if ev.type == "error"]
    evals = [
        (ev.label, ev.step, ev.asr, ev.ca, ev.tar_median)
        for ev in events
        if ev.type == "evaluation"
    ]
    summary[name] = {
        "state": str(state),
        "wall_s": wall,
        "steps": e.step_count,
        "found": [(f.step, f.target_class) for f in found],
        "errors": errs,
        "evaluations": evals,
        "before": fin[0].before if fin else None,
        "after": fin[0].after if fin else None,
        "forget": len(e.prepared.phase_data.forget) if e.prepared else None,
    }
    print(name, json.dumps(summary[name], default=str), flush=True)
(OUT / "gpu_check.json").write_text(json.dumps(summary, indent=1, default=str))
