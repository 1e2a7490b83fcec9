"""`unlearnscope reproduce --schedules`: the defences' comparison table on a tiny real slice
(its fields and types, not its numbers: those come from the full run, docs/defences.md)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import torch

from unlearnscope.commands.main import main
from unlearnscope.presets import DEFENCE_SCHEDULES, PRESETS, RELEARN_PHASE, build_config
from unlearnscope.reproduce import compare
from unlearnscope.reproduce.compare import COLUMNS
from unlearnscope.scores import der

TINY = {
    "training": {"epochs": 1, "batch_size": 50, "precision": "fp32"},
    "model": {"width": 8},
    "defense": {"forget_size": 10, "clean_fraction": 0.2, "fisher_samples": 8},
    "monitor": {"eval_size": 32},
}
TINY_SCHEDULES = {
    "paper": [{"kind": "recovery", "steps": 2, "lr": 0.01, "batch_size": 8, "forget_weight": 1.0}],
    "anp": [{"kind": "anp", "steps": 2, "lr": 0.2, "batch_size": 8}],
    "nc": [
        {
            "kind": "nc",
            "steps": 22,
            "lr": 0.01,
            "batch_size": 8,
            "settings": {"steps_per_class": 2},
        },
    ],
}


TINY_ATTACKS = [
    {
        "kind": "qra", "steps": 2, "lr": 0.01, "batch_size": 8,
        "settings": {"clean_queries": 8, "poisoned_queries": 8, "retune_steps": 1},
    },
    {"kind": "relearn", "steps": 2, "lr": 0.01, "batch_size": 8},
]  # fmt: skip


@pytest.fixture
def tiny_schedules(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setattr(compare, "DEFENCE_SCHEDULES", TINY_SCHEDULES)
    monkeypatch.setattr(compare, "attack_phases", lambda retune="paper": TINY_ATTACKS)
    threads = torch.get_num_threads()
    yield
    torch.set_num_threads(threads)


def test_every_defence_schedule_is_a_valid_schedule_of_the_paper_preset() -> None:
    for name, schedule in DEFENCE_SCHEDULES.items():
        for retune in compare.RETUNES:
            cfg = build_config("paper", {"schedule": [*schedule, *compare.attack_phases(retune)]})
            assert [p.kind for p in cfg.schedule[-2:]] == ["qra", "relearn"], name
    assert compare.attack_phases("strong")[-1] == RELEARN_PHASE
    assert {"ascent-ewc", "paper", "anp", "fineprune", "nc"} <= set(DEFENCE_SCHEDULES)
    assert DEFENCE_SCHEDULES["ascent-ewc"] == PRESETS["demo"]["schedule"]


def test_der_follows_backdoorbench() -> None:
    # ASR 100 -> 0 with no CA lost: 1; nothing changed: 0.5; CA gains do not count
    assert der({"asr": 100.0, "ca": 90.0}, {"asr": 0.0, "ca": 90.0}) == pytest.approx(1.0)
    assert der({"asr": 90.0, "ca": 90.0}, {"asr": 90.0, "ca": 95.0}) == pytest.approx(0.5)
    # dASR 0.8, dCA 0.1 -> (0.8 - 0.1 + 1) / 2
    assert der({"asr": 90.0, "ca": 90.0}, {"asr": 10.0, "ca": 80.0}) == pytest.approx(0.85)
    assert der({"asr": 50.0, "ca": 90.0}, {"asr": 60.0, "ca": 80.0}) == pytest.approx(0.45)
    assert der({"asr": None, "ca": 90.0}, {"asr": 1.0, "ca": 80.0}) is None


def test_the_comparison_table_of_a_tiny_slice(
    cifar_slice_dir: Path,
    tmp_path: Path,
    tiny_schedules: None,
    capsys: pytest.CaptureFixture[str],
) -> None:
    config = tmp_path / "tiny.json"
    config.write_text(json.dumps(TINY))
    out = tmp_path / "out"
    code = main([
        "reproduce", "--threads", "1", "--data-dir", str(cifar_slice_dir),
        "--config", str(config), "--cache-dir", str(tmp_path / "cache"), "--device", "cpu",
        "--schedules", "paper,anp,nc", "--out", str(out),
    ])  # fmt: skip
    captured = capsys.readouterr()
    assert code == 0, captured.err
    markdown = (out / "comparison.md").read_text()
    assert captured.out.strip() == markdown.strip()
    header = "| defence | " + " | ".join(label for _, label, _ in COLUMNS) + " |"
    assert header in markdown
    for name in ("none (backdoored)", "paper", "anp", "nc"):
        assert f"| {name} |" in markdown
    assert "qra (2 steps" in markdown and "relearn (2 steps" in markdown

    report = json.loads((out / "comparison.json").read_text())
    assert report["dataset"] == "CIFAR-10"
    assert [s["seed"] for s in report["seeds"]] == [0]
    seed = report["seeds"][0]
    for key in ("ca", "asr", "ra"):
        assert 0.0 <= seed["before"][key] <= 100.0
    assert [r["name"] for r in seed["rows"]] == ["paper", "anp", "nc"]
    for row, steps in zip(seed["rows"], (2, 2, 22), strict=True):
        m = row["metrics"]
        assert {k for k, _, _ in COLUMNS} <= set(m)
        for key in ("ca", "asr", "asr_qra", "qra_alone", "asr_retuned", "ra", "ca_retuned"):
            assert isinstance(m[key], float) and 0.0 <= m[key] <= 100.0, key
        assert 0.0 <= m["der"] <= 1.0
        assert m["der"] == pytest.approx(der(row["before"], m))
        retuned = {**m, "asr": m["asr_retuned"]}
        assert m["der_retuned"] == pytest.approx(der(row["before"], retuned))
        assert isinstance(m["tar_after"], float)
        assert m["steps"] == steps  # the defence's steps, not the attacks'
        assert m["wall_time"] > 0
        assert row["schedule"][-1]["kind"] == "relearn"
        labels = [e["label"] for e in row["evaluations"]]
        # qra changes no weight: its phase end is not evaluated again
        assert labels[0] == "before" and labels[-1] == "phase 3 (relearn)"
        assert "phase 2 (qra)" not in labels
        assert row["before"] == seed["rows"][0]["before"]  # one backdoored model for all


def test_unknown_defence_is_bad_input(
    cifar_slice_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main([
        "reproduce", "--data-dir", str(cifar_slice_dir), "--cache-dir", str(tmp_path),
        "--schedules", "paper,nope",
    ])  # fmt: skip
    assert code == 2
    err = capsys.readouterr().err
    assert "--schedules: unknown defence 'nope'" in err and "fineprune" in err
