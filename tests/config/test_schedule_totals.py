"""One definition of a run's step totals (ml/schedule.py run_plan), and the API carries it:
GET /api/runs/{id} (run.plan, total_steps), the run list, the leaderboard entries."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from live_server import app_service
from unlearnscope.api.app import create_app
from unlearnscope.events import PhaseEnd, PhaseStart, RunStarted, ScheduleEdit, StatusEvent
from unlearnscope.ml.schedule import run_plan
from unlearnscope.presets import preset_config
from unlearnscope.settings import Settings
from unlearnscope.states import RunStatus

ASCENT = {"kind": "ascent", "steps": 40, "lr": 0.002}
RECOVERY = {"kind": "recovery", "steps": 100, "lr": 0.005}
RECOVERY_50 = {**RECOVERY, "steps": 50}


def end(index: int, steps: int, reason: str = "completed") -> dict[str, Any]:
    return {"phase_index": index, "steps": steps, "reason": reason}


def test_a_run_that_has_not_begun_totals_its_plan() -> None:
    plan = run_plan([ASCENT, RECOVERY], [ASCENT, RECOVERY], [], 0)
    assert plan["total"] == plan["planned_total"] == plan["in_force_total"] == 140
    assert plan["edited"] is False and plan["taken"] == 0
    assert [p["taken"] for p in plan["phases"]] == [None, None]
    assert [p["planned_steps"] for p in plan["phases"]] == [40, 100]


def test_an_early_stop_counts_the_steps_it_took() -> None:
    plan = run_plan([ASCENT, RECOVERY], [ASCENT, RECOVERY], [end(0, 9, "early_stop")], 12)
    # 9 of ascent's 40, then recovery's 100: the run ends at 109, not 140
    assert plan["total"] == 109 and plan["in_force_total"] == 140
    assert plan["phases"][0] == {
        "index": 0,
        "kind": "ascent",
        "steps": 40,
        "planned_steps": 40,
        "taken": 9,
        "reason": "early_stop",
    }


def test_a_live_edit_moves_the_total_and_is_marked() -> None:
    in_force = [ASCENT, RECOVERY_50, {"kind": "relearn", "steps": 20, "lr": 0.01}]
    plan = run_plan([ASCENT, RECOVERY], in_force, [end(0, 9, "early_stop")], 20)
    assert plan["edited"] is True
    assert plan["planned_total"] == 140 and plan["in_force_total"] == 110
    assert plan["total"] == 9 + 50 + 20
    assert [p["planned_steps"] for p in plan["phases"]] == [40, 100, None]  # added: no plan


def test_the_total_is_never_below_the_steps_taken() -> None:
    plan = run_plan([ASCENT], [ASCENT], [], 45)
    assert plan["total"] == 45


def test_a_stopped_run_counts_the_phases_it_never_reached_as_planned() -> None:
    plan = run_plan([ASCENT, RECOVERY], [ASCENT, RECOVERY], [end(0, 7, "stopped")], 7)
    assert plan["total"] == 107 and plan["phases"][1]["taken"] is None


def test_an_edit_that_only_rewrites_the_same_values_is_no_edit() -> None:
    same = [dict(ASCENT), dict(RECOVERY)]
    assert run_plan([ASCENT, RECOVERY], same, [], 0)["edited"] is False
    assert run_plan([ASCENT, RECOVERY], [ASCENT, {**RECOVERY, "lr": 0.01}], [], 0)["edited"]


# -- the API carries it ---------------------------------------------------------------
@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    settings = Settings(home=tmp_path, device="cpu", allowed_hosts=["testserver"])
    with TestClient(create_app(settings)) as c:
        yield c


def test_the_run_list_the_run_and_the_leaderboard_read_the_same_total(client: TestClient) -> None:
    store = app_service(client).store
    config = preset_config("tiny", {"name": "edited"})  # ascent 4 -> recovery 4
    store.create("r1", config, RunStatus.QUEUED)
    started = [p.model_dump() for p in config.schedule]
    edited = [started[0], {**started[1], "steps": 10}]
    events = [
        RunStarted(
            device="cpu",
            model="small_cnn",
            n_params=1,
            dataset="shapes",
            classes=["a", "b"],
            total_steps=8,
            schedule=started,
            image_size=8,
            model_key="k1",
            target_class=0,
            trigger_box=[5, 5, 7, 7],
        ),
        StatusEvent(status=RunStatus.RUNNING),
        PhaseStart(phase_index=0, kind="ascent", step=0, planned_steps=4),
        PhaseEnd(phase_index=0, kind="ascent", step=2, steps=2, reason="early_stop"),
        PhaseStart(phase_index=1, kind="recovery", step=2, planned_steps=4),
        ScheduleEdit(accepted=True, step=3, schedule=edited, total_steps=14),
    ]
    for seq, e in enumerate(events, 1):
        e.seq = seq
    store.append("r1", events)
    run = client.get("/api/runs/r1").json()
    # ascent ended after 2 of its 4 steps; recovery was edited to 10: 12, not 14 or 8
    assert run["total_steps"] == run["plan"]["total"] == 12
    assert run["plan"]["edited"] is True and run["plan"]["planned_total"] == 8
    assert run["plan"]["phases"][0]["taken"] == 2
    listed = next(r for r in client.get("/api/runs").json() if r["id"] == "r1")
    assert listed["total_steps"] == 12 and listed["plan"] == run["plan"]
    board = client.get("/api/leaderboard", params={"model_key": "k1"}).json()
    assert board["entries"][0]["plan"]["total"] == 12
