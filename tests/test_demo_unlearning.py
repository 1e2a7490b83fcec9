"""End to end: the demo preset (smaller test split, fewer probes) removes the backdoor."""

from __future__ import annotations

from pathlib import Path

import pytest

from unlearnscope.events import Evaluation, RunFinished
from unlearnscope.ml.checkpoints import FileModelStore
from unlearnscope.ml.engine import Engine
from unlearnscope.presets import preset_config
from unlearnscope.states import RunStatus


@pytest.mark.slow
def test_demo_schedule_removes_the_backdoor_and_keeps_clean_accuracy(model_cache: Path) -> None:
    cfg = preset_config(
        "demo",
        {"data": {"test_size": 1000}, "monitor": {"probe_count": 4}},
    )
    events: list = []
    engine = Engine(cfg, events.append, device="cpu", store=FileModelStore(model_cache))
    assert engine.run() is RunStatus.COMPLETED
    evals = [e for e in events if isinstance(e, Evaluation)]
    before, after = evals[0], evals[-1]
    assert before.asr > 90.0 and before.ca > 85.0  # the attack worked
    assert after.asr < 10.0  # the backdoor is gone
    assert after.ca >= 0.95 * before.ca  # and clean accuracy stayed
    assert before.tar_median > 1.5 > after.tar_median  # attention left the trigger
    finished = next(e for e in events if isinstance(e, RunFinished))
    assert finished.after["asr"] == after.asr
