"""Issue 12, the run service's parts: per-run state is dropped with its run, one matcher
answers control, edit and inspect requests, and routes go through the service."""

from __future__ import annotations

import ast
from pathlib import Path

from fastapi.testclient import TestClient

import unlearnscope.api.routes as routes_package
from live_server import app_service
from unlearnscope.api.app import create_app
from unlearnscope.api.service.live import LiveRuns
from unlearnscope.api.service.requests import answers
from unlearnscope.api.wire import TERMINAL
from unlearnscope.control import Stop
from unlearnscope.events import ErrorEvent, PhaseStart, SampleReport, ScheduleEdit, StatusEvent
from unlearnscope.presets import preset_config
from unlearnscope.settings import Settings
from unlearnscope.states import RunStatus


def test_a_forgotten_run_leaves_nothing_behind() -> None:
    live = LiveRuns()
    lock = live.export_lock("r1")
    live.set_phase("r1", 1, "recovery")
    live.set_owner("r1", "1.2.3.4")
    live.set_override("r1", RunStatus.FAILED, "disk full")
    assert live.send_or_keep("r1", Stop(), launching=True) is True
    live.set_phase("r2", 0, "ascent")

    live.forget("r1")

    assert live.phase("r1") == (None, None) and live.override("r1") is None
    assert live.owned_by("1.2.3.4", ["r1"]) == 0 and live.pending("r1") == []
    assert live.export_lock("r1") is not lock  # a new lock: the old one was dropped
    assert live.phase("r2") == (0, "ascent")  # other runs keep theirs


def test_a_message_for_a_run_without_a_worker_is_kept_only_while_one_is_launched() -> None:
    live = LiveRuns()
    assert live.send_or_keep("r1", Stop(), launching=False) is False
    assert live.send_or_keep("r1", Stop(request_id="a"), launching=True) is True
    assert live.add_worker("r1", object()) == [Stop(request_id="a")]  # type: ignore[arg-type]
    assert live.send_or_keep("r1", Stop(), launching=True) is None  # the handle sends it


def test_the_run_list_hears_of_progress_at_most_once_per_interval() -> None:
    live = LiveRuns()
    assert live.list_update_due("r1", changed=False, progressed=True, every=60.0)
    assert not live.list_update_due("r1", changed=False, progressed=True, every=60.0)
    assert live.list_update_due("r1", changed=True, progressed=False, every=60.0)
    assert not live.list_update_due("r1", changed=False, progressed=False, every=0.0)


def test_one_matcher_answers_control_edit_and_inspect_requests() -> None:
    pause = answers("p1", (), {"paused", *TERMINAL})
    assert pause(StatusEvent(status="paused", step=3))
    assert pause(StatusEvent(status="failed"))
    assert not pause(StatusEvent(status="running"))
    assert pause(ErrorEvent(message="no", request_id="p1"))
    assert not pause(ErrorEvent(message="someone else's", request_id="p2"))

    edit = answers("e1", (ScheduleEdit,), TERMINAL)
    assert edit(ScheduleEdit(request_id="e1", accepted=True, step=2, schedule=[]))
    assert not edit(ScheduleEdit(request_id="e2", accepted=True, step=2, schedule=[]))
    assert not edit(StatusEvent(status="paused"))
    assert edit(StatusEvent(status="completed"))

    inspect = answers("s1", (SampleReport,), TERMINAL)
    assert not inspect(ScheduleEdit(request_id="s1", accepted=True, step=2, schedule=[]))
    assert inspect(ErrorEvent(message="index out of range", request_id="s1"))


def test_deleting_a_run_drops_its_phase_and_export_lock(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path, device="cpu", allowed_hosts=["testserver"])
    with TestClient(create_app(settings)) as c:
        service = app_service(c)
        service.store.create("r1", preset_config("tiny"), RunStatus.COMPLETED)
        service.bridge.on_events(
            "r1", [PhaseStart(seq=1, phase_index=1, kind="recovery", step=4, planned_steps=7)]
        )
        run = c.get("/api/runs/r1").json()
        assert (run["phase_index"], run["phase_kind"]) == (1, "recovery")
        assert c.get("/api/runs/r1/export").status_code == 200
        lock = service.live.export_lock("r1")
        assert c.delete("/api/runs/r1").status_code == 204
        assert service.live.phase("r1") == (None, None)
        assert service.live.export_lock("r1") is not lock


def test_routes_reach_the_store_and_the_hub_only_through_the_service() -> None:
    folder = Path(routes_package.__file__).parent
    reached = []
    for path in sorted(folder.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if (
                isinstance(node, ast.Attribute)
                and node.attr in ("store", "hub", "pool", "db")
                and isinstance(node.value, ast.Name)
                and node.value.id == "service"
            ):
                reached.append(f"{path.name}:{node.lineno} service.{node.attr}")
    assert reached == []
