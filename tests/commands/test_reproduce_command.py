"""`unlearnscope reproduce` as a user calls it: the table, its files, bad data folders.

The real numbers come from the command on the whole of CIFAR-10 (docs/results.md); here
the pipeline runs end to end on a tiny real slice with one epoch and a tiny schedule.
"""

from __future__ import annotations

import json
import pickle
import subprocess
import sys
import tarfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from unlearnscope.commands.main import main
from unlearnscope.commands.reproduce import MODEL_PRESETS
from unlearnscope.presets import preset_config
from unlearnscope.reproduce import ROWS

CLI = [sys.executable, "-m", "unlearnscope"]

TINY = {
    "training": {"epochs": 1, "batch_size": 50, "precision": "fp32"},
    "model": {"width": 8},
    "defense": {"forget_size": 10, "clean_fraction": 0.1, "fisher_samples": 8},
    "monitor": {"eval_size": 32},
    "schedule": [
        {"kind": "ascent", "steps": 2, "lr": 0.01, "batch_size": 8, "ewc_lambda": 10.0},
        {"kind": "recovery", "steps": 2, "lr": 0.01, "batch_size": 8, "forget_weight": 0.5,
         "distill_weight": 1.0},
    ],
}


@dataclass
class Result:
    returncode: int
    stdout: str
    stderr: str


@pytest.fixture
def reproduce(capsys: pytest.CaptureFixture[str]) -> Iterator[Callable[..., Result]]:
    """`unlearnscope reproduce ARGS` in this process (torch is imported once)."""

    def call(*args: str) -> Result:
        capsys.readouterr()
        code = main(["reproduce", "--threads", "1", *args])  # tiny models: one is fastest
        captured = capsys.readouterr()
        return Result(code, captured.out, captured.err)

    threads = torch.get_num_threads()
    yield call
    torch.set_num_threads(threads)  # --threads sets it for the whole process


def test_each_model_choice_has_a_preset_of_that_model() -> None:
    for model, preset in MODEL_PRESETS.items():
        assert preset_config(preset).model.name == model


@pytest.fixture
def tiny_config(tmp_path: Path) -> Path:
    path = tmp_path / "tiny.json"
    path.write_text(json.dumps(TINY))
    return path


def test_reproduce_writes_the_table_for_each_seed(
    cifar_slice_dir: Path, tiny_config: Path, tmp_path: Path, reproduce: Callable[..., Result]
) -> None:
    out = tmp_path / "out"
    res = reproduce(
        "--data-dir",
        str(cifar_slice_dir),
        "--seeds",
        "2",
        "--config",
        str(tiny_config),
        "--cache-dir",
        str(tmp_path / "cache"),
        "--device",
        "cpu",
        "--out",
        str(out),
    )
    assert res.returncode == 0, res.stderr
    # stdout is the Markdown table, the same as results.md
    markdown = (out / "results.md").read_text()
    assert res.stdout.strip() == markdown.strip()
    assert "| metric | seed 0 | seed 1 | mean ± std | paper |" in markdown
    for _, label, _ in ROWS:
        assert f"| {label} |" in markdown
    assert "ImageFolder" in markdown and str(cifar_slice_dir) in markdown  # the data source
    assert "CIFAR-10" in markdown and "96.51" in markdown  # the paper's column
    assert "forget weight 0.5, distill weight 1)" in markdown  # the schedule as run

    report = json.loads((out / "results.json").read_text())
    assert report["n_train"] == 200 and report["n_test"] == 100
    assert [s["seed"] for s in report["seeds"]] == [0, 1]
    for seed in report["seeds"]:
        m = seed["metrics"]
        assert set(m) == {key for key, _, _ in ROWS}
        for key in ("clean_ca", "backdoor_ca", "backdoor_asr", "after_ca", "after_asr"):
            assert isinstance(m[key], float) and 0.0 <= m[key] <= 100.0
        assert m["ca_retention"] == pytest.approx(100 * m["after_ca"] / m["backdoor_ca"])
        assert m["asr_reduction"] == pytest.approx(m["backdoor_asr"] - m["after_asr"])
        assert isinstance(m["tar_before"], float) and isinstance(m["tar_after"], float)
        assert m["unlearning_steps"] == 4
        times = [m[k] for k in m if k.startswith("time_")]
        assert all(isinstance(t, float) and t >= 0 for t in times)
        assert m["time_total"] >= m["time_clean_training"] + m["time_backdoor_training"]
        assert seed["cached"] == {"clean_model": False, "backdoored_model": False}
        labels = [e["label"] for e in seed["evaluations"]]
        assert labels == ["before", "phase 1 (ascent)", "phase 2 (recovery)"]
    summary = report["summary"]["after_asr"]
    values = [s["metrics"]["after_asr"] for s in report["seeds"]]
    assert summary["mean"] == pytest.approx(sum(values) / 2)
    assert set(report["goal"]["met_per_seed"]) == {"0", "1"}  # JSON keys

    # A second call finds both models of a seed in the cache.
    again = reproduce(
        "--data-dir",
        str(cifar_slice_dir),
        "--config",
        str(tiny_config),
        "--cache-dir",
        str(tmp_path / "cache"),
        "--device",
        "cpu",
    )
    assert again.returncode == 0, again.stderr
    assert "(cached)" in again.stdout and "mean ± std" not in again.stdout


def test_the_archive_itself_is_unpacked_once(
    cifar_slice_dir: Path, tiny_config: Path, tmp_path: Path, reproduce: Callable[..., Result]
) -> None:
    archive = tmp_path / "slice.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        for split in ("train", "test"):
            tar.add(cifar_slice_dir / split, arcname=split)
    cache = tmp_path / "cache"
    args = ["--data-dir", str(archive), "--config", str(tiny_config), "--device", "cpu"]
    for _ in range(2):
        res = reproduce(*args, "--cache-dir", str(cache))
        assert res.returncode == 0, res.stderr
        assert "unpacked from the archive" in res.stdout and str(archive) in res.stdout
    unpacked = list((cache / "datasets").iterdir())
    assert len(unpacked) == 1 and (unpacked[0] / "train" / "airplane").is_dir()


def _write_cifar_batches(imagefolder: Path, dest: Path) -> Path:
    """The slice re-written in torchvision's CIFAR-10 python-batch format (5 + 1 files)."""
    from PIL import Image

    classes = sorted(d.name for d in (imagefolder / "train").iterdir())
    folder = dest / "cifar-10-batches-py"
    folder.mkdir(parents=True)

    def batch(split: str) -> dict[str, Any]:
        rows, labels = [], []
        for label, name in enumerate(classes):
            for file in sorted((imagefolder / split / name).iterdir()):
                pixels = np.asarray(Image.open(file).convert("RGB"))  # (32, 32, 3)
                rows.append(pixels.transpose(2, 0, 1).reshape(-1))
                labels.append(label)
        return {"data": np.stack(rows).astype(np.uint8), "labels": labels}

    train = batch("train")
    n = len(train["labels"])
    for i in range(5):  # data_batch_1..5, as the official release splits the training set
        part = slice(i * n // 5, (i + 1) * n // 5)
        rows = {"data": train["data"][part], "labels": train["labels"][part]}
        (folder / f"data_batch_{i + 1}").write_bytes(pickle.dumps(rows))
    (folder / "test_batch").write_bytes(pickle.dumps(batch("test")))
    (folder / "batches.meta").write_bytes(pickle.dumps({"label_names": classes}))
    return dest


def test_torchvision_cifar10_batches_are_read_and_named_in_the_table(
    cifar_slice_dir: Path,
    tiny_config: Path,
    tmp_path: Path,
    reproduce: Callable[..., Result],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import torchvision.datasets.cifar

    root = _write_cifar_batches(cifar_slice_dir, tmp_path / "data")
    # torchvision checks the official files' md5 sums; these are the slice's own pixels.
    monkeypatch.setattr(torchvision.datasets.cifar, "check_integrity", lambda *a, **k: True)
    out = tmp_path / "out"
    res = reproduce(
        "--data-dir", str(root), "--config", str(tiny_config), "--device", "cpu",
        "--cache-dir", str(tmp_path / "cache"), "--out", str(out),
    )  # fmt: skip
    assert res.returncode == 0, res.stderr
    assert f"torchvision CIFAR-10 (python batches): {root}" in res.stdout
    report = json.loads((out / "results.json").read_text())
    assert report["n_train"] == 200 and report["n_test"] == 100


@pytest.mark.parametrize("kind", ["missing", "empty_folder", "not_an_archive"])
def test_a_bad_data_dir_is_a_clear_error_with_exit_code_2(
    kind: str, tmp_path: Path, reproduce: Callable[..., Result]
) -> None:
    target = tmp_path / "data"
    if kind == "empty_folder":
        target.mkdir()
    elif kind == "not_an_archive":
        target = tmp_path / "data.tar.gz"
        target.write_text("not a tar file")
    out = tmp_path / "out"
    res = reproduce("--data-dir", str(target), "--out", str(out), "--cache-dir", str(tmp_path))
    assert res.returncode == 2
    assert f"--data-dir {target}" in res.stderr
    assert "train/" in res.stderr and "cifar-10-batches-py" in res.stderr  # what to give
    assert not out.exists()


def test_the_command_line_exits_with_code_2_on_a_bad_data_dir(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere"
    res = subprocess.run(
        [*CLI, "reproduce", "--data-dir", str(missing), "--cache-dir", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert res.returncode == 2
    assert res.stderr.startswith(f"unlearnscope: error: --data-dir {missing}: no such file")
    assert "Traceback" not in res.stderr
