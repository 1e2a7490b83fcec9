"""End to end: a defence's demo preset removes the backdoor of the shapes demo and keeps
clean accuracy (README, Defences: measured CA 93.90%, ASR 5.83% for demo-fineprune; CA
92.90%, ASR 0.00% for demo-nc, which unlearns the smallest recovered trigger). demo-anp and
demo-ibau did not reach that goal in our measurements, so they are not claimed here; demo-sam
and demo-nad did, and are left to the README to keep this slow test short."""

from __future__ import annotations

from pathlib import Path

import pytest

from unlearnscope.events import Evaluation, PhaseVisualEvent
from unlearnscope.ml.checkpoints import FileModelStore
from unlearnscope.ml.engine import Engine
from unlearnscope.presets import preset_config
from unlearnscope.states import RunStatus


@pytest.mark.slow
@pytest.mark.parametrize("preset", ["demo-fineprune", "demo-nc"])
def test_a_defence_preset_removes_the_demo_backdoor(model_cache: Path, preset: str) -> None:
    # the monitor at fixed steps, and sparse: the verdict is the full test set's evaluations
    monitor = {"probe_count": 2, "budget": 0.0, "frame_every": 50, "tar_every": 50,
               "eval_every": 50}  # fmt: skip
    cfg = preset_config(preset, {"monitor": monitor})
    events: list = []
    engine = Engine(cfg, events.append, device="cpu", store=FileModelStore(model_cache))
    assert engine.run() is RunStatus.COMPLETED
    evals = [e for e in events if isinstance(e, Evaluation)]
    before, after = evals[0], evals[-1]
    assert before.asr > 90.0 and before.ca > 85.0  # the attack worked
    assert after.asr < 10.0  # the backdoor is gone
    assert after.ca >= 0.95 * before.ca  # and clean accuracy stayed
    assert any(isinstance(e, PhaseVisualEvent) for e in events)  # the defence's own picture
