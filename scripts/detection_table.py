"""The detection table of docs/detection.md: each detector on each backdoored model, then
unlearning with the detected forget set against the oracle's.

    python scripts/detection_table.py --data-dir ../shared/data/cifar10-jpg.tar.gz \
        --out results-detection/ [--models paper paper-1pct ...] [--unlearn paper ...]

Part 1 (every model): the backdoored model is trained (or taken from the model cache),
the training set passed through it once, and the four detectors run on the same features
with their papers' defaults: flagged count, precision, recall, ROC-AUC.
Part 2 (the `--unlearn` models): full runs of the `paper` schedule and of ascent + EWC,
each with the oracle's forget set and with the forget set a detection phase finds (no
oracle), then the retuning attack (`relearn`) on the result. Writes detection.json and
detection.md (the tables) into --out, and prints them. 1 torch thread by default, as for
every measurement here (`--threads`).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

import torch

from unlearnscope.events import EventBase, ForgetSetFound, RunFinished
from unlearnscope.ml.checkpoints import FileModelStore
from unlearnscope.ml.detection.clustering import activation_clustering
from unlearnscope.ml.detection.isolation import abl_isolation, sample_losses
from unlearnscope.ml.detection.quality import detection_quality
from unlearnscope.ml.detection.result import Detection
from unlearnscope.ml.detection.scan import scan
from unlearnscope.ml.detection.spectral import spectral_signatures
from unlearnscope.ml.engine import Engine
from unlearnscope.ml.features import features_and_logits
from unlearnscope.ml.kinds.registry import recipe
from unlearnscope.presets import DEFENCE_SCHEDULES, PAPER_SCHEDULE, preset_config
from unlearnscope.reproduce import resolve_data_dir

MODELS: dict[str, tuple[str, dict[str, Any]]] = {
    "demo": ("demo", {}),
    "paper": ("paper", {}),  # BadNets 3x3, 10%
    "paper-1pct": ("paper", {"attack": {"poison_rate": 0.01}}),
    "paper-blended": ("paper-blended", {}),
    "paper-wanet": ("paper-wanet", {}),
    "paper-sig": ("paper-sig", {}),
}
DETECTORS = ["spectral", "ac", "abl", "scan"]
# the demo's gentle ascent and its first recovery phase
ASCENT_EWC: list[dict[str, Any]] = DEFENCE_SCHEDULES["ascent-ewc"][:2]
RELEARN = recipe("relearn")


def detect_all(name: str, data_dir: str | None, cache: Path) -> dict[str, Any]:
    preset, over = MODELS[name]
    cfg = preset_config(preset, over)
    engine = Engine(
        cfg, lambda e: None, device="cpu", data_dir=data_dir, store=FileModelStore(cache)
    )
    t0 = time.perf_counter()
    engine.prepare()
    p = engine.prepared
    assert p is not None and p.phase_data.pool is not None and p.truth is not None
    pool, truth = p.phase_data.pool, p.truth
    t1 = time.perf_counter()
    feats, logits = features_and_logits(p.model, pool.images, 512)
    clean_feats, _ = features_and_logits(p.model, p.phase_data.clean.images, 512)
    t_feat = time.perf_counter() - t1
    k = len(pool.classes)
    runs = {
        "spectral": lambda: spectral_signatures(feats, pool.labels, k, 0.1),
        "ac": lambda: activation_clustering(feats, pool.labels, k, seed=cfg.seed),
        "abl": lambda: abl_isolation(sample_losses(logits, pool.labels), 0.01),
        "scan": lambda: scan(feats, pool.labels, clean_feats, p.phase_data.clean.labels, k),
    }
    rows = {}
    for det_name, run in runs.items():
        t = time.perf_counter()
        det: Detection = run()
        q = detection_quality(det, truth)
        rows[det_name] = {
            **q,
            "flagged": int(det.flagged.sum()),
            "seconds": time.perf_counter() - t,
            "suspect_classes": det.suspect_classes,
        }
    before = engine._before
    return {
        "model": name,
        "training_size": len(pool),
        "poisoned": int(truth.sum()),
        "ca": None if before is None else before.ca,
        "asr": None if before is None else before.asr,
        "prepare_seconds": t1 - t0,
        "feature_seconds": t_feat,
        "detectors": rows,
    }


def run_once(
    cfg_over: dict[str, Any], preset: str, data_dir: str | None, cache: Path
) -> dict[str, Any]:
    events: list[EventBase] = []
    cfg = preset_config(preset, cfg_over)
    Engine(cfg, events.append, device="cpu", data_dir=data_dir, store=FileModelStore(cache)).run()
    fin = next((e for e in events if isinstance(e, RunFinished)), None)
    found = next((e for e in events if isinstance(e, ForgetSetFound)), None)
    status = [e for e in events if e.type == "status"][-1]
    return {
        "status": getattr(status, "status", "?"),
        "message": getattr(status, "message", ""),
        "before": None if fin is None else fin.before,
        "after": None if fin is None else fin.after,
        "retuned": None if fin is None else fin.retuned,
        "flagged": None if found is None else len(found.indices),
        "precision": None if found is None else found.precision,
        "recall": None if found is None else found.recall,
    }


def unlearn_all(
    name: str, detectors: list[str], data_dir: str | None, cache: Path
) -> list[dict[str, Any]]:
    preset, over = MODELS[name]
    rows = []
    for sched_name, schedule in (("paper", PAPER_SCHEDULE), ("ascent-ewc", ASCENT_EWC)):
        for source in ["oracle", *detectors]:
            detect = [] if source == "oracle" else [recipe(source)]
            cfg_over = {
                **over,
                "defense": {"oracle": "on" if source == "oracle" else "off"},
                "schedule": [*detect, *schedule, RELEARN],
            }
            t = time.perf_counter()
            out = run_once(cfg_over, preset, data_dir, cache)
            out.update(
                model=name, schedule=sched_name, forget_set=source, seconds=time.perf_counter() - t
            )
            print(json.dumps(out), flush=True)
            rows.append(out)
    return rows


def pct(x: float | None) -> str:
    return "n/a" if x is None else f"{x:.2f}"


def share(x: float | None) -> str:
    return "n/a" if x is None or x != x else f"{100 * x:.1f}"


def tables(detection: list[dict[str, Any]], unlearning: list[dict[str, Any]]) -> str:
    lines = [
        "| model | poisoned / training | detector | flagged | precision % | recall % | ROC-AUC |",
        "|---|---:|---|---:|---:|---:|---:|",
    ]
    for m in detection:
        for d, r in m["detectors"].items():
            auc = "n/a" if r["auc"] != r["auc"] else f"{r['auc']:.3f}"
            lines.append(
                f"| {m['model']} | {m['poisoned']:,} / {m['training_size']:,} | {d} | "
                f"{r['flagged']:,} | {share(r['precision'])} | {share(r['recall'])} | {auc} |"
            )
    if unlearning:
        lines += [
            "",
            "| model | schedule | forget set | flagged (precision %) | CA % | ASR % "
            "| ASR after re-tuning % |",
            "|---|---|---|---:|---:|---:|---:|",
        ]
        for r in unlearning:
            after, ret = r["after"] or {}, r["retuned"] or {}
            flagged = (
                "oracle"
                if r["forget_set"] == "oracle"
                else f"{r['flagged']} ({share(r['precision'])})"
            )
            if r["status"] != "completed":
                lines.append(
                    f"| {r['model']} | {r['schedule']} | {r['forget_set']} | {flagged} "
                    f"| failed: {r['message']} | | |"
                )
                continue
            lines.append(
                f"| {r['model']} | {r['schedule']} | {r['forget_set']} | {flagged} | "
                f"{pct(after.get('ca'))} | {pct(after.get('asr'))} | {pct(ret.get('asr'))} |"
            )
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data-dir", default=None)
    ap.add_argument("--out", type=Path, default=Path("results-detection"))
    ap.add_argument("--cache-dir", type=Path, default=Path.home() / ".unlearnscope" / "cache")
    ap.add_argument("--models", nargs="+", default=list(MODELS), choices=list(MODELS))
    ap.add_argument("--unlearn", nargs="*", default=[], choices=list(MODELS))
    ap.add_argument("--unlearn-detectors", nargs="*", default=["scan", "abl"], choices=DETECTORS)
    ap.add_argument("--threads", type=int, default=1, help="torch threads (1 for measuring)")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    if args.data_dir is not None:  # the archive itself, unpacked once into the cache
        args.data_dir = str(resolve_data_dir(args.data_dir, args.cache_dir.parent).root)
    args.out.mkdir(parents=True, exist_ok=True)
    detection = []
    for name in args.models:
        row = detect_all(name, args.data_dir, args.cache_dir)
        print(json.dumps(row), flush=True)
        detection.append(row)
        (args.out / "detection.json").write_text(json.dumps({"detection": detection}, indent=1))
    unlearning: list[dict[str, Any]] = []
    for name in args.unlearn:
        unlearning += unlearn_all(name, args.unlearn_detectors, args.data_dir, args.cache_dir)
        (args.out / "detection.json").write_text(
            json.dumps({"detection": detection, "unlearning": unlearning}, indent=1)
        )
    text = tables(detection, unlearning)
    (args.out / "detection.md").write_text(text + "\n")
    print(text)


if __name__ == "__main__":
    main()
