"""The imagefolder data path on real CIFAR-10 images (a slice of ../shared/data)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from unlearnscope.events import Evaluation, FramesEvent, RunStarted
from unlearnscope.ml.engine import Engine
from unlearnscope.presets import preset_config
from unlearnscope.states import RunStatus


def test_engine_runs_on_a_real_cifar10_slice(cifar_slice_dir: Path) -> None:
    cfg = preset_config(
        "tiny",
        {
            "data": {
                "name": "imagefolder",
                "root": str(cifar_slice_dir),
                "train_size": None,
                "test_size": None,
            },
            "training": {"epochs": 10, "batch_size": 32},
        },  # 200 images: enough to give maps
    )
    events: list = []
    assert Engine(cfg, events.append, device="cpu").run() is RunStatus.COMPLETED
    started = next(e for e in events if isinstance(e, RunStarted))
    assert started.classes[:3] == ["airplane", "automobile", "bird"]
    before = next(e for e in events if isinstance(e, Evaluation))
    assert before.n_clean == 100 and before.n_triggered == 90  # 10 per class, target excluded
    frames = [e for e in events if isinstance(e, FramesEvent)]
    assert frames[-1].size == 32 and frames[-1].count == 4
    assert all(np.frombuffer(f.maps, np.uint8).max() > 0 for f in frames)
