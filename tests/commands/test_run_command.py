"""`unlearnscope run` as a user calls it: bad input, outputs, presets."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

from safetensors.torch import load_file

CLI = [sys.executable, "-m", "unlearnscope"]


def run_cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*CLI, *args], capture_output=True, text=True, cwd=cwd, timeout=600)


def test_bad_config_names_the_field_and_allowed_values_and_writes_nothing(tmp_path: Path) -> None:
    cfg = tmp_path / "bad.yaml"
    cfg.write_text("model:\n  name: vgg99\n")
    out = tmp_path / "out"
    res = run_cli("run", "--config", str(cfg), "--out", str(out), cwd=tmp_path)
    assert res.returncode == 2
    assert "model.name" in res.stderr and "small_cnn" in res.stderr and "resnet18" in res.stderr
    assert not out.exists()


def test_unknown_field_and_bad_json_are_refused(tmp_path: Path) -> None:
    cfg = tmp_path / "typo.json"
    cfg.write_text(json.dumps({"attack": {"poison_rat": 0.2}}))
    res = run_cli("run", "--config", str(cfg), cwd=tmp_path)
    assert res.returncode == 2 and "attack.poison_rat" in res.stderr
    cfg.write_text("{not json")
    res = run_cli("run", "--config", str(cfg), cwd=tmp_path)
    assert res.returncode == 2 and "cannot parse" in res.stderr
    res = run_cli("run", "--preset", "nope", cwd=tmp_path)
    assert res.returncode == 2 and "demo" in res.stderr


def test_presets_lists_the_demo(tmp_path: Path) -> None:
    res = run_cli("presets", cwd=tmp_path)
    assert res.returncode == 0 and "demo" in res.stdout and "ascent" in res.stdout
    shown = json.loads(run_cli("presets", "--show", "tiny", cwd=tmp_path).stdout)
    assert shown["schedule"][0]["kind"] == "ascent"


def test_run_writes_metrics_frames_and_model(tmp_path: Path, model_cache: Path) -> None:
    out = tmp_path / "out"
    res = run_cli(
        "run",
        "--preset",
        "tiny",
        "--out",
        str(out),
        "--cache-dir",
        str(model_cache),
        "--device",
        "cpu",
        cwd=tmp_path,
    )
    assert res.returncode == 0, res.stderr
    assert "| attack success rate (ASR) % |" in res.stdout
    # the verdict, in words, the same the report opens with
    said = next(ln for ln in res.stdout.splitlines() if ln.startswith("verdict: "))
    icon, sentence = said.removeprefix("verdict: ").split(" ", 1)
    assert f'aria-hidden="true">{icon}</span> {sentence}' in (out / "report.html").read_text()
    assert "[before]" in res.stderr and "phase 1 ascent" in res.stderr
    rows = list(csv.DictReader((out / "metrics.csv").open()))
    assert [int(r["step"]) for r in rows] == list(range(1, 9))
    summary = json.loads((out / "metrics.json").read_text())
    assert summary["evaluations"][0]["label"] == "before"
    assert summary["summary"]["after"]["asr"] is not None
    frames = sorted((out / "frames").glob("*.png"))
    assert len(frames) == 9 * 4 * 2  # steps 0-8, 4 probes, clean + triggered
    weights = load_file(str(out / "model.safetensors"))
    assert any(k.endswith("fc.weight") for k in weights)
    assert json.loads((out / "config.json").read_text())["name"] == "tiny"


def test_out_folder_that_is_not_empty_is_refused(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    res = run_cli("run", "--preset", "tiny", "--out", str(out), cwd=tmp_path)
    assert res.returncode == 2 and "not empty" in res.stderr
    assert [p.name for p in out.iterdir()] == ["keep.txt"]
