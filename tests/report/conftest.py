"""Report fixtures: one home (the server's folder) holding a completed, a stopped and a
failed tiny run, recorded once per session; and a system Chromium."""

from __future__ import annotations

from pathlib import Path

import pytest
from report_runs import COMPLETED, FAILED, STOPPED, open_store, record_run

from unlearnscope.report import RunFacts, facts_from_store


@pytest.fixture(scope="session")
def report_home(tmp_path_factory: pytest.TempPathFactory, model_cache: Path) -> Path:
    home = tmp_path_factory.mktemp("report-home")
    store = open_store(home)
    record_run(store, COMPLETED, model_cache)
    record_run(store, STOPPED, model_cache, stop_after=3)
    record_run(
        store, FAILED, model_cache, {"data": {"name": "imagefolder", "root": str(home / "none")}}
    )
    return home


@pytest.fixture(scope="session")
def facts(report_home: Path) -> dict[str, RunFacts]:
    store = open_store(report_home)
    return {rid: facts_from_store(store, rid) for rid in (COMPLETED, STOPPED, FAILED)}


