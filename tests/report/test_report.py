"""The run report: one self-contained HTML file, the same from the CLI, the API and `run`."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from report_runs import COMPLETED, FAILED, STOPPED

from unlearnscope.commands.main import main
from unlearnscope.report import build_report
from unlearnscope.report.html import MAX_BYTES


def embedded(html: str) -> dict:
    found = re.search(
        r'<script type="application/json" id="report-data">(.*?)</script>', html, re.S
    )
    assert found, "the report embeds its data as JSON"
    return json.loads(found.group(1))


def test_completed_report_is_self_contained_and_says_what_happened(facts) -> None:
    f = facts[COMPLETED]
    html = build_report(f)
    assert len(html.encode()) < MAX_BYTES
    # nothing to fetch: no external script, stylesheet, image or frame
    assert not re.search(r'<(script|link|img|iframe)[^>]+(src|href)="(https?:)?//', html)
    assert "<link" not in html and not re.search(r"<script[^>]*\ssrc=", html)
    assert re.search(r'id="plotly-gz">[A-Za-z0-9+/=]{100000,}</script>', html)
    # the verdict is the one every view shows (unlearnscope/verdict.py), word and icon
    verdict = f.verdict()
    assert verdict["final"] and verdict["outcome"] != "none"
    assert f'id="verdict" data-outcome="{verdict["outcome"]}"' in html
    assert f'aria-hidden="true">{verdict["icon"]}</span> {verdict["sentence"]}' in html
    for label in ("before", "phase 1 (ascent)", "phase 2 (recovery)"):
        assert f"<td>{label}</td>" in html
    assert f"({COMPLETED})" in html and "cpu" in html  # run id and device in the details
    data = embedded(html)
    assert data["frames"]["steps"] == [fr.step for fr in f.frames]  # every frame kept
    assert data["frames"]["steps"][0] == 0 and data["end"] == f.last_step
    assert next(e["label"] for e in data["evaluations"]) == "before"


def test_frames_are_sampled_to_fit_the_size_budget_and_the_report_says_so(facts) -> None:
    f = facts[COMPLETED]
    full = build_report(f)
    budget = len(full.encode()) - 20_000
    html = build_report(f, max_bytes=budget)
    assert len(html.encode()) <= budget
    steps = embedded(html)["frames"]["steps"]
    assert 2 <= len(steps) < len(f.frames)
    assert steps[0] == f.frames[0].step and steps[-1] == f.frames[-1].step
    assert f"of the {len(f.frames)} recorded frames are included" in html


def test_failed_run_report_says_why(facts) -> None:
    html = build_report(facts[FAILED])
    assert 'id="failure"' in html and "This run failed." in html
    assert "does not exist" in html  # the engine's reason: the data folder is missing
    assert "badge-failed" in html


def test_stopped_run_report_says_where_it_stopped(facts) -> None:
    f = facts[STOPPED]
    html = build_report(f)
    assert f"stopped by hand at step {f.last_step}" in html
    assert "Stopped by hand before the schedule ended" in html


def test_cli_and_api_make_the_same_report(report_home: Path, model_cache: Path, tmp_path) -> None:
    from live_server import LiveServer

    out = tmp_path / "r.html"
    assert main(["report", COMPLETED, "--home", str(report_home), "--out", str(out)]) == 0
    with LiveServer(report_home, model_cache) as server:
        r = server.http.get(f"/api/runs/{COMPLETED}/report.html")
        missing = server.http.get("/api/runs/nosuchrun/report.html")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    assert r.content == out.read_bytes()
    assert missing.status_code == 404


def test_cli_report_errors_name_the_fix(report_home: Path, tmp_path, capsys) -> None:
    assert main(["report", "nosuchrun", "--home", str(report_home)]) == 2
    assert "no run 'nosuchrun'" in capsys.readouterr().err
    assert main(["report", COMPLETED, "--home", str(tmp_path / "empty")]) == 2
    assert "pass the --home or --db" in capsys.readouterr().err
    assert main(["report", COMPLETED, "--home", str(report_home), "--clip", "x.mp4"]) == 2
    assert ".gif or .webp" in capsys.readouterr().err


@pytest.mark.slow
def test_run_out_writes_report_html(model_cache: Path, tmp_path) -> None:
    out = tmp_path / "out"
    assert (
        main(
            [
                "run",
                "--preset",
                "tiny",
                "--device",
                "cpu",
                "--out",
                str(out),
                "--cache-dir",
                str(model_cache),
            ]
        )
        == 0
    )
    html = (out / "report.html").read_text()
    assert "completed" in html and re.search(r'id="verdict" data-outcome="[a-z_]+"', html)
    assert embedded(html)["frames"]["steps"]
