"""The executor contract, on both executors: a run's engine behind a `RunHandle` takes
control messages and hands back its events in order, each once, and its end; a killed
engine fails with a reason. `local` is a spawned process; `ray` an actor on a real
two-node Ray cluster on this machine (tests/ray_cluster.py). Ray only: runs wait until
Ray can place them, a lost node fails only its runs, and a new server re-attaches to a
run left running and streams on after the last seq it stored, losing and repeating none.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from unlearnscope.control import EditSchedule, Inspect, Pause, Resume, Stop
from unlearnscope.events import EventBase, SampleReport, ScheduleEdit, StatusEvent, StepMetrics
from unlearnscope.presets import preset_config
from unlearnscope.worker.executor import Executor, LocalExecutor
from unlearnscope.worker.handle import describe_exit
from unlearnscope.worker.process import WorkerExit, WorkerSpec

TIMEOUT = 120.0


class Recorder:
    """What one run's handle reported, with waits for what a test expects."""

    def __init__(self) -> None:
        self.events: list[EventBase] = []
        self.batches: list[list[int]] = []  # the seqs of each hand-over
        self.exits: list[tuple[WorkerExit | None, int | None]] = []
        self.placed: list[str] = []
        self.cond = threading.Condition()

    def on_events(self, run_id: str, events: list[EventBase]) -> None:
        with self.cond:
            self.events += events
            self.batches.append([e.seq for e in events])
            self.cond.notify_all()

    def on_exit(self, run_id: str, finished: WorkerExit | None, code: int | None) -> None:
        with self.cond:
            self.exits.append((finished, code))
            self.cond.notify_all()

    def on_placed(self, run_id: str, where: str) -> None:
        with self.cond:
            self.placed.append(where)
            self.cond.notify_all()

    def wait_for(self, test: Any, timeout: float = TIMEOUT) -> Any:
        with self.cond:
            assert self.cond.wait_for(test, timeout), f"timed out; last: {self.events[-3:]}"
            return test()

    def status(self, name: str) -> StatusEvent:
        return self.wait_for(
            lambda: next(
                (e for e in self.events if isinstance(e, StatusEvent) and e.status == name), None
            )
        )

    def steps(self) -> int:
        with self.cond:
            return sum(isinstance(e, StepMetrics) for e in self.events)

    @property
    def seqs(self) -> list[int]:
        with self.cond:
            return [e.seq for e in self.events]


def spec(tmp_path: Path, cache: Path, run_id: str, recovery: int) -> WorkerSpec:
    config = preset_config(
        "tiny",
        {
            "name": run_id,
            "schedule": [
                {"kind": "ascent", "steps": 2, "lr": 0.01, "batch_size": 16, "ewc_lambda": 10.0},
                {"kind": "recovery", "steps": recovery, "lr": 0.01, "batch_size": 16},
            ],
            "monitor": {"budget": 0},
        },
    )
    return WorkerSpec(
        run_id=run_id,
        config=config.model_dump(mode="json"),
        device="cpu",
        data_dir=None,
        cache_dir=str(cache),
        model_path=str(tmp_path / "artifacts" / run_id / "model.safetensors"),
        torch_threads=1,
    )


def launch(executor: Executor, s: WorkerSpec) -> tuple[Any, Recorder]:  # Any: a Ray handle too
    rec = Recorder()
    handle = executor.handle(s, rec.on_events, rec.on_exit, rec.on_placed)
    handle.start()
    return handle, rec


@pytest.fixture(params=["local", "ray"])
def executor(request: pytest.FixtureRequest) -> Iterator[Executor]:
    if request.param == "local":
        yield LocalExecutor()
        return
    from unlearnscope.worker.ray_executor import RayExecutor

    cluster = request.getfixturevalue("ray_cluster")
    cluster.wait_idle()
    yield RayExecutor(cluster.address, num_cpus=1)


def test_control_in_events_out_in_order_and_the_model_comes_back(
    executor: Executor, tmp_path: Path, warm_cache: Path
) -> None:
    s = spec(tmp_path, warm_cache, f"ctl-{executor.name}", recovery=10_000)
    handle, rec = launch(executor, s)
    rec.wait_for(lambda: rec.steps() >= 2)
    assert handle.send(Pause())
    paused = rec.status("paused")
    time.sleep(0.5)
    assert rec.steps() == paused.step  # paused: no step taken
    assert handle.send(Inspect(index=3))
    report = rec.wait_for(lambda: next((e for e in rec.events if isinstance(e, SampleReport)), 0))
    assert report.index == 3
    longer = [dict(p) for p in s.config["schedule"]]
    longer[1]["steps"] = 20_000
    assert handle.send(EditSchedule(schedule=longer))
    edit = rec.wait_for(lambda: next((e for e in rec.events if isinstance(e, ScheduleEdit)), 0))
    assert edit.accepted, edit.reason
    assert handle.send(Resume())
    rec.wait_for(lambda: rec.steps() > paused.step)
    assert handle.send(Stop())
    assert handle.wait(TIMEOUT)
    [(finished, code)] = rec.exits
    assert finished is not None and finished.state == "stopped" and not code
    assert rec.seqs == list(range(1, len(rec.seqs) + 1))  # gapless, each once
    last = rec.events[-1]
    assert isinstance(last, StatusEvent) and last.status == "stopped"
    # The model is in the server's artifact folder, whichever node ran the engine.
    assert finished.model_path == s.model_path and Path(s.model_path).stat().st_size > 0
    assert Path(s.model_path).with_suffix(".json").exists()
    assert not handle.send(Pause())  # gone: sending says so


def test_a_killed_engine_fails_its_run_with_a_reason(
    executor: Executor, tmp_path: Path, warm_cache: Path
) -> None:
    handle, rec = launch(executor, spec(tmp_path, warm_cache, f"kill-{executor.name}", 10_000))
    rec.wait_for(lambda: rec.steps() >= 1)
    handle.kill()
    assert handle.wait(TIMEOUT)
    [(finished, code)] = rec.exits
    if executor.name == "local":
        assert finished is None and "SIGKILL" in describe_exit(code)
    else:
        assert finished is not None and finished.state == "failed"
        assert finished.error and "died" in finished.error, finished.error
    assert rec.seqs == list(range(1, len(rec.seqs) + 1))


# -- Ray only ------------------------------------------------------------------------------
@pytest.fixture
def ray_executor(ray_cluster: Any) -> Any:
    from unlearnscope.worker.ray_executor import RayExecutor

    ray_cluster.wait_idle()
    return RayExecutor(ray_cluster.address, num_cpus=1)


def test_runs_wait_for_a_place_and_a_lost_node_fails_only_its_run(
    ray_cluster: Any, ray_executor: Any, tmp_path: Path, warm_cache: Path
) -> None:
    a, rec_a = launch(ray_executor, spec(tmp_path, warm_cache, "node-a", 10_000))
    b, rec_b = launch(ray_executor, spec(tmp_path, warm_cache, "node-b", 10_000))
    for rec in (rec_a, rec_b):
        rec.wait_for(lambda rec=rec: rec.steps() >= 1)
    nodes = {a.where["node_id"], b.where["node_id"]}  # type: ignore[attr-defined]
    assert nodes == {ray_cluster.head_node_id, ray_cluster.worker_node_id}  # one per node
    assert all(" on " in r.placed[0] and "node" in r.placed[0] for r in (rec_a, rec_b))
    # Two CPUs, both taken: a third run waits, unplaced, and takes no message yet.
    c, rec_c = launch(ray_executor, spec(tmp_path, warm_cache, "node-c", 3))
    time.sleep(2.0)
    assert rec_c.placed == [] and rec_c.events == [] and not c.started
    a_on_worker = a.where["node_id"] == ray_cluster.worker_node_id  # type: ignore[attr-defined]
    on_worker, rec_lost = (a, rec_a) if a_on_worker else (b, rec_b)
    survivor, rec_ok = (b, rec_b) if a_on_worker else (a, rec_a)
    try:
        ray_cluster.kill_worker_node()
        assert on_worker.wait(TIMEOUT)
        [(finished, _)] = rec_lost.exits
        assert finished is not None and finished.state == "failed"
        assert "died" in (finished.error or "")
        assert survivor.alive() and rec_ok.exits == []  # the other node's run goes on
        steps = rec_ok.steps()
        rec_ok.wait_for(lambda: rec_ok.steps() > steps)
        assert survivor.send(Stop()) and survivor.wait(TIMEOUT)
        assert rec_ok.exits[0][0].state == "stopped"  # type: ignore[union-attr]
        # Its CPU free, the waiting run is placed now and completes.
        assert c.wait(TIMEOUT)
        assert rec_c.placed and rec_c.exits[0][0].state == "completed"  # type: ignore[union-attr]
        assert rec_c.seqs == list(range(1, len(rec_c.seqs) + 1))
    finally:
        ray_cluster.add_worker_node()


def test_a_stop_before_placement_removes_the_waiting_run(
    ray_cluster: Any, ray_executor: Any, tmp_path: Path, warm_cache: Path
) -> None:
    busy = [launch(ray_executor, spec(tmp_path, warm_cache, f"busy-{i}", 10_000)) for i in (1, 2)]
    for _, rec in busy:
        rec.wait_for(lambda rec=rec: bool(rec.placed))
    waiting, rec = launch(ray_executor, spec(tmp_path, warm_cache, "waiting", 3))
    time.sleep(1.0)
    assert waiting.send(Stop()) and waiting.wait(TIMEOUT)
    [(finished, _)] = rec.exits
    assert finished is not None and finished.cancelled and rec.placed == [] and rec.events == []
    for handle, _ in busy:
        handle.send(Stop())
    for handle, _ in busy:
        assert handle.wait(TIMEOUT)


def test_a_new_server_reattaches_after_the_last_stored_seq(
    ray_executor: Any, tmp_path: Path, warm_cache: Path
) -> None:
    s = spec(tmp_path, warm_cache, "reattach", recovery=60)
    first, rec1 = launch(ray_executor, s)
    rec1.wait_for(lambda: rec1.steps() >= 5)
    first.detach()  # the server shuts down; the actor runs on
    assert rec1.exits == []  # detaching ends nothing
    # The server had stored every batch but the last one it was handed (it died before
    # writing it, so that batch was never acknowledged): the next server asks from its
    # last stored seq, and gets that batch again, then the rest.
    assert len(rec1.batches) >= 2
    stored = [seq for batch in rec1.batches[:-1] for seq in batch]
    after = stored[-1]
    rec2 = Recorder()
    second = ray_executor.reattach(s, after, rec2.on_events, rec2.on_exit, rec2.on_placed)
    assert second is not None
    second.start()
    assert second.wait(TIMEOUT)
    [(finished, _)] = rec2.exits
    assert finished is not None and finished.state == "completed"
    assert rec2.placed == []  # a re-attached run is not placed again
    log = stored + rec2.seqs
    assert log == list(range(1, len(log) + 1))  # nothing lost, nothing repeated
    assert rec2.seqs[0] == after + 1
    assert Path(s.model_path).exists()
    # Gone now: nothing to re-attach to.
    assert ray_executor.reattach(s, 0, rec2.on_events, rec2.on_exit, rec2.on_placed) is None
