"""Adding a phase kind is adding one entry to phase_kinds.PHASE_KINDS: the config schema,
the options the page reads and the engine all take it from there."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from fastapi.testclient import TestClient

from unlearnscope.api.app import create_app
from unlearnscope.config import PhaseConfig, RunConfig
from unlearnscope.events import EventBase, StepMetrics
from unlearnscope.ml.checkpoints import FileModelStore
from unlearnscope.ml.engine import Engine
from unlearnscope.phase_kinds import PHASE_KINDS, PhaseKind
from unlearnscope.presets import preset_config
from unlearnscope.settings import Settings
from unlearnscope.states import RunStatus


class StandStill:
    """A throwaway kind: a zero objective, so a step changes nothing."""

    bn_train = False

    def task_loss(self, model, cfg, data, gen, device):  # type: ignore[no-untyped-def]
        x, _ = data.clean.batch(torch.arange(min(cfg.batch_size, len(data.clean))))
        out = model(x.to(device))
        zero = (out * 0).sum()
        return zero, zero.detach()


@pytest.fixture
def stand_still(monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setitem(
        PHASE_KINDS,
        "stand_still",
        PhaseKind(
            label="Stand still",
            description="A step that changes nothing (test kind).",
            step=f"{__name__}:StandStill",
            uses_forget_set=False,
        ),
    )
    return "stand_still"


def test_an_unregistered_kind_is_refused_by_name() -> None:
    with pytest.raises(ValueError, match="unknown phase kind 'stand_still'"):
        PhaseConfig(kind="stand_still", steps=1, lr=0.1)


def test_a_registered_kind_is_in_the_schema_and_the_options(
    stand_still: str, tmp_path: Path
) -> None:
    kinds = RunConfig.model_json_schema()["$defs"]["PhaseConfig"]["properties"]["kind"]
    assert stand_still in kinds["enum"] and "ascent" in kinds["enum"]
    settings = Settings(home=tmp_path, device="cpu", allowed_hosts=["testserver"])
    with TestClient(create_app(settings)) as client:
        options = client.get("/api/options").json()
    assert stand_still in [k["kind"] for k in options["phase_kinds"]]
    schema_kinds = options["run_config_schema"]["$defs"]["PhaseConfig"]["properties"]["kind"]
    assert stand_still in schema_kinds["enum"]


def test_the_engine_runs_a_registered_kind(stand_still: str, model_cache: Path) -> None:
    cfg = preset_config(
        "tiny", {"schedule": [{"kind": stand_still, "steps": 2, "lr": 0.1, "batch_size": 8}]}
    )
    events: list[EventBase] = []
    engine = Engine(cfg, events.append, device="cpu", store=FileModelStore(model_cache))
    engine.prepare()
    before = {k: v.clone() for k, v in engine.model.state_dict().items()}
    assert engine.run() is RunStatus.COMPLETED
    steps = [e for e in events if isinstance(e, StepMetrics)]
    assert [s.kind for s in steps] == [stand_still, stand_still]
    after = engine.model.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)  # it stood still
