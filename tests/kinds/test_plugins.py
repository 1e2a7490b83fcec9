"""A phase kind, an attack and a model from a third party's installed package (entry-point
groups `unlearnscope.kinds`, `unlearnscope.attacks`, `unlearnscope.models`) work like
built-ins: they are in the registries, the RunConfig schema and `GET /api/options` (with
their settings schemas), their settings are validated, and the engine runs them end to
end. The package is written to a temporary path, as an installer lays it out (the modules
plus a dist-info folder with `entry_points.txt`), and a fresh Python process with that path
on sys.path does the rest: no file of this repository changes.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from plugin_package import install

CHECK = """
import json, logging, sys
from pathlib import Path

import torch
from fastapi.testclient import TestClient
from pydantic import ValidationError

from unlearnscope.api.app import create_app
from unlearnscope.config import PhaseConfig, RunConfig
from unlearnscope.events import StepMetrics
from unlearnscope.ml.checkpoints import FileModelStore
from unlearnscope.ml.engine import Engine
from unlearnscope.ml.kinds.registry import PHASE_KINDS
from unlearnscope.presets import preset_config
from unlearnscope.settings import Settings
from unlearnscope.states import RunStatus

home, cache = Path(sys.argv[1]), Path(sys.argv[2])
out = {"kinds": list(PHASE_KINDS)}
out["nad_step"] = PHASE_KINDS["nad"].step  # the built-in, not the plug-in's
schema = RunConfig.model_json_schema()["$defs"]["PhaseConfig"]["properties"]["kind"]["enum"]
out["in_schema"] = "gentle" in schema
try:
    PhaseConfig(kind="gentle", steps=1, lr=0.1, settings={"share": 2.0})
    out["bad_share"] = "accepted"
except ValidationError as err:
    out["bad_share"] = [".".join(map(str, e["loc"])) for e in err.errors()]
settings = Settings(home=home, device="cpu", allowed_hosts=["testserver"])
with TestClient(create_app(settings)) as client:
    options = client.get("/api/options").json()
gentle = next(k for k in options["phase_kinds"] if k["kind"] == "gentle")
out["option"] = {"label": gentle["label"], "defaults": gentle["defaults"],
                 "fields": sorted(gentle["settings_schema"]["properties"])}
cfg = preset_config("tiny", {
    "attack": {"kind": "dot", "settings": {"size": 3}},
    "model": {"name": "oneconv"},
    "schedule": [{"kind": "gentle", "steps": 3, "lr": 0.05, "batch_size": 16,
                  "settings": {"share": 0.25}}],
})
out["key"] = cfg.attack.key_fields()
attack = next(a for a in options["attack_kinds"] if a["kind"] == "dot")
out["attack_fields"] = sorted(attack["settings_schema"]["properties"])
out["models"] = options["models"]
events = []
engine = Engine(cfg, events.append, device="cpu", store=FileModelStore(cache))
engine.prepare()
before = {k: v.clone() for k, v in engine.model.state_dict().items()}
out["status"] = engine.run().value
steps = [e for e in events if isinstance(e, StepMetrics)]
out["steps"] = [(s.kind, s.losses.get("share")) for s in steps]
after = engine.model.state_dict()
out["moved"] = any(not torch.equal(before[k], after[k]) for k in before)
out["asr_before"] = next(e.before["asr"] for e in events if e.type == "run_finished")
print(json.dumps(out))
"""


def test_an_installed_plug_in_kind_runs_like_a_built_in(tmp_path: Path, model_cache: Path) -> None:
    site = tmp_path / "site"
    install(site)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(site), *sys.path])}
    done = subprocess.run(
        [sys.executable, "-c", CHECK, str(tmp_path / "home"), str(model_cache)],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    out = json.loads(done.stdout.strip().splitlines()[-1])
    assert out["kinds"][-1] == "gentle"  # after the built-ins
    assert "broken" not in out["kinds"]  # its import failed: logged, left out
    assert out["nad_step"] == "unlearnscope.ml.kinds.nad.step:Nad"  # a built-in is not replaced
    assert "failed to load" in done.stderr and "name is taken" in done.stderr
    assert out["in_schema"]
    assert out["bad_share"] == ["settings.share"]
    assert out["option"] == {
        "label": "Gentle fine-tuning",
        "defaults": {"steps": 3, "lr": 0.01, "batch_size": 16},
        "fields": ["share"],
    }
    assert out["status"] == "completed"
    assert out["steps"] == [["gentle", 0.25]] * 3
    assert out["moved"]  # it fine-tuned the model
    # the plug-in attack and model: offered, keyed on the attack's settings, and trained
    assert out["attack_fields"] == ["size"] and "oneconv" in out["models"]
    assert out["key"] == {
        "kind": "dot",
        "target_class": 0,
        "poison_rate": 0.1,
        "settings": {"size": 3},
    }
    assert out["asr_before"] > 50  # the backdoored one-conv model learned the dot


def test_without_the_plug_in_its_kind_is_unknown() -> None:
    code = "from unlearnscope.ml.kinds.registry import PHASE_KINDS; print('gentle' in PHASE_KINDS)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False"
