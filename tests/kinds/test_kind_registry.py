"""A kind in the registry (ml/kinds/registry.PHASE_KINDS: a folder of ml/kinds/ or an
installed plug-in) is all the config schema, the options the page reads and the engine
need: a throwaway kind registered here runs like a built-in."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch
from fastapi.testclient import TestClient

from unlearnscope.api.app import create_app
from unlearnscope.config import PhaseConfig, RunConfig
from unlearnscope.events import EventBase, StepMetrics
from unlearnscope.ml.checkpoints import FileModelStore
from unlearnscope.ml.engine import Engine
from unlearnscope.ml.kinds.kind import PhaseKind
from unlearnscope.ml.kinds.protocol import PhaseContext, PhaseRun, PhaseVisual, StepOutcome
from unlearnscope.ml.kinds.registry import PHASE_KINDS
from unlearnscope.presets import preset_config
from unlearnscope.settings import Settings
from unlearnscope.states import RunStatus


class StandStillRun:
    def step(self, ctx: PhaseContext) -> StepOutcome:
        """A zero objective: a step that changes nothing."""
        x, _ = ctx.data.clean.batch(torch.arange(min(ctx.cfg.batch_size, len(ctx.data.clean))))
        zero = (ctx.model(x.to(ctx.device)) * 0).sum()
        return StepOutcome(zero.item(), zero.item(), 0.0, 0.0)

    def finish(self, ctx: PhaseContext) -> list[PhaseVisual]:
        return []


class StandStill:
    """A throwaway kind (the one step protocol, ml/kinds/protocol.py)."""

    def start(self, ctx: PhaseContext) -> PhaseRun:
        return StandStillRun()


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


NEW_KIND = {
    "__init__.py": '''
        """`zero`: a step that changes nothing (a new built-in kind, for the test)."""
        from ..kind import PhaseKind

        KIND = PhaseKind(
            label="Zero step",
            description="A step that changes nothing.",
            step="unlearnscope.ml.kinds.zero.step:Zero",
            uses_forget_set=False,
            defaults={"steps": 2, "lr": 0.1},
            order=99,
        )
    ''',
    "step.py": """
        from ..protocol import StepOutcome


        class ZeroRun:
            def step(self, ctx):
                return StepOutcome(0.0, 0.0, 0.0, 0.0, losses={"zero": 0.0})

            def finish(self, ctx):
                return []


        class Zero:
            def start(self, ctx):
                return ZeroRun()
    """,
}

RUN_ZERO = """
import sys
from pathlib import Path
import unlearnscope
assert unlearnscope.__file__.startswith(sys.argv[1]), unlearnscope.__file__
from unlearnscope.ml.checkpoints import FileModelStore
from unlearnscope.ml.engine import Engine
from unlearnscope.ml.kinds.registry import PHASE_KINDS
from unlearnscope.presets import preset_config
cfg = preset_config("tiny", {"schedule": [{"kind": "zero", "steps": 2, "lr": 0.1}]})
events = []
engine = Engine(cfg, events.append, device="cpu", store=FileModelStore(Path(sys.argv[2])))
print(list(PHASE_KINDS)[-2:], engine.run().value, [e.kind for e in events if e.type == "step"])
"""


def test_a_new_built_in_kind_is_one_new_folder(tmp_path: Path, model_cache: Path) -> None:
    """A copy of the package with one folder added to ml/kinds/ and no other file changed:
    the new kind is registered and runs."""
    import shutil
    import subprocess
    import sys
    import textwrap

    import unlearnscope

    package = Path(unlearnscope.__file__).parent
    copy = tmp_path / "src" / "unlearnscope"
    shutil.copytree(package, copy, ignore=shutil.ignore_patterns("__pycache__", "frontend"))
    folder = copy / "ml" / "kinds" / "zero"
    folder.mkdir()
    for name, text in NEW_KIND.items():
        (folder / name).write_text(textwrap.dedent(text).lstrip())
    changed = {
        str(p.relative_to(copy))
        for p in copy.rglob("*")
        if p.is_file() and not (package / p.relative_to(copy)).exists()
    }
    assert changed == {"ml/kinds/zero/__init__.py", "ml/kinds/zero/step.py"}
    done = subprocess.run(
        [sys.executable, "-c", RUN_ZERO, str(copy), str(model_cache / "models")],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(copy.parent)},
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.strip() == "['scan', 'zero'] completed ['zero', 'zero']"


def test_every_built_in_kind_has_its_doc() -> None:
    """docs/defences.md is made of the kinds' doc.md files: none may be missing (the
    method's own ascent and recovery are in docs/method.md)."""
    from unlearnscope.kind_docs import KINDS

    missing = [
        n for n in PHASE_KINDS if (KINDS / n).is_dir() and not (KINDS / n / "doc.md").exists()
    ]
    assert set(missing) <= {"ascent", "recovery"}
