"""`unlearnscope sweep` as a user calls it: a bad cell is refused up front, a good sweep
runs every cell and prints a progress line per run and the final table."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

CLI = [sys.executable, "-m", "unlearnscope"]


def run_cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*CLI, *args], capture_output=True, text=True, cwd=cwd, timeout=600)


def test_a_bad_cell_is_named_before_anything_runs(tmp_path: Path) -> None:
    cfg = tmp_path / "sweep.yaml"
    cfg.write_text("name: s\npreset: tiny\ngrid:\n  defense.forget_size: [10, -1]\n")
    res = run_cli("sweep", "--config", str(cfg), cwd=tmp_path)
    assert res.returncode == 2, res.stderr
    assert "cell 2 (defense.forget_size=-1)" in res.stderr and "defense.forget_size" in res.stderr
    assert "sweep:" not in res.stdout  # nothing started
    cfg.write_text("name: s\npreset: tiny\ngrid: {}\n")
    res = run_cli("sweep", "--config", str(cfg), cwd=tmp_path)
    assert res.returncode == 2 and "grid" in res.stderr


def test_sweep_runs_every_cell_and_prints_the_table(tmp_path: Path, model_cache: Path) -> None:
    cfg = tmp_path / "sweep.yaml"
    cfg.write_text(
        "name: s\npreset: tiny\n"
        "grid:\n  schedule:\n    - tiny\n"
        "    - [{kind: recovery, steps: 3, lr: 0.01, batch_size: 16}]\n"
    )
    res = run_cli(
        "sweep", "--config", str(cfg), "--device", "cpu", "--cache-dir", str(model_cache),
        cwd=tmp_path,
    )  # fmt: skip
    assert res.returncode == 0, res.stdout + res.stderr
    out = res.stdout
    assert "sweep: 2 runs" in out
    assert "[1/2] schedule=tiny: step" in out and "[2/2] schedule=recovery 3: step 3/3" in out
    table = [ln for ln in out.splitlines() if ln.startswith("| 1 ") or ln.startswith("| 2 ")]
    assert len(table) == 2
    assert "| schedule=tiny | completed |" in table[0] and "| 8 |" in table[0]
    assert "| schedule=recovery 3 | completed |" in table[1] and "| 3 |" in table[1]
    # each finished cell's verdict (verdict.py), in words: never "-" for a completed run
    verdicts = [ln.split(" | ")[3] for ln in table]
    words = ("Removed", "Not removed", "Weakened", "Came back", "Model broken")
    assert all(any(w in v for w in words) for v in verdicts), verdicts
