"""`unlearnscope bench` runs end to end and prints its tables (numbers are not asserted)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path


def bench(tmp_path: Path, *args: str, timeout: float = 240) -> subprocess.CompletedProcess:
    env = {**os.environ, "UNLEARNSCOPE_HOME": str(tmp_path / "home")}
    return subprocess.run(
        [sys.executable, "-m", "unlearnscope", "bench", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=timeout,
    )


def test_quick_bench_prints_streaming_memory_and_cam_tables(
    tmp_path: Path, model_cache: Path
) -> None:
    out_json = tmp_path / "bench.json"
    done = bench(
        tmp_path,
        "--quick",
        "--only", "streaming,memory,cam",
        "--model", "small_cnn",
        "--preset", "tiny",
        "--clients", "0,10",
        "--steps", "12",
        "--threads", "1",
        "--cache-dir", str(model_cache),  # the session's tiny model, trained once
        "--json", str(out_json),
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    out = done.stdout
    for header in (
        "| clients (stalled) | steps/s | vs 0 clients | latency p50 ms | p95 ms |",
        "| run | cache | status | steps | preparation s | Start to final table s |",
        "model      batch method",
        "| target | measured | |",
    ):
        assert header in out, out
    assert "| 0 (0) |" in out and "| 10 (1) |" in out  # 10 clients: one of them stalled
    assert "load average" in out
    # Monitoring did not run, so its targets say so instead of a verdict.
    assert "| live dense monitoring: training at >= 95% of steps/s off | not run | - |" in out

    rows = json.loads(out_json.read_text())
    assert set(rows) == {"streaming", "memory", "cam"}
    stream = {r["clients"]: r for r in rows["streaming"]}
    assert set(stream) == {0, 10}
    assert stream[0]["steps"] == 12 and stream[10]["steps"] == 12  # fixed-length runs
    assert stream[0]["ratio"] == 1.0 and stream[10]["steps_per_s"] > 0
    assert stream[0]["p95_ms"] is None  # nobody listened
    assert stream[10]["p95_ms"] is not None and not stream[10]["late_clients"]
    assert stream[10]["status"] == "completed"
    (mem,) = rows["memory"]
    assert mem["status"] == "completed" and mem["worker_peak_mib"] > 0
    assert mem["server_peak_mib"] >= mem["server_idle_mib"] > 0
    assert [r["model"] for r in rows["cam"]] == ["small_cnn"]  # --model restricts


def test_bad_section_is_refused_with_the_allowed_names(tmp_path: Path) -> None:
    done = bench(tmp_path, "--only", "cam,speed", timeout=60)
    assert done.returncode == 2
    assert "cam,monitoring,streaming,memory" in done.stderr
