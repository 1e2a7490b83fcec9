"""The run pool: a concurrency limit, a line with places, and the next run on release."""

from __future__ import annotations

import pytest

from unlearnscope.worker.pool import RunPool


def test_runs_beyond_the_limit_wait_in_line_and_start_in_order() -> None:
    started: list[str] = []
    pool = RunPool(2, started.append)
    assert pool.submit("a") is None and pool.submit("b") is None
    assert pool.submit("c") == 1 and pool.submit("d") == 2
    assert started == ["a", "b"] and pool.positions() == {"c": 1, "d": 2}
    pool.release("a")
    assert started == ["a", "b", "c"] and pool.position("d") == 1
    assert pool.active == ["b", "c"]


def test_cancel_takes_a_waiting_run_out_of_line_only() -> None:
    started: list[str] = []
    pool = RunPool(1, started.append)
    pool.submit("a")
    pool.submit("b")
    pool.submit("c")
    assert not pool.cancel("a")  # running: the worker must be stopped instead
    assert pool.cancel("b") and pool.positions() == {"c": 1}
    pool.release("a")
    assert started == ["a", "c"]


def test_a_launch_that_fails_frees_its_slot() -> None:
    def launch(run_id: str) -> None:
        if run_id == "bad":
            raise RuntimeError("no process")
        started.append(run_id)

    started: list[str] = []
    pool = RunPool(1, launch)
    pool.submit("bad")
    pool.submit("good")
    assert started == ["good"] and pool.active == ["good"]


def test_closed_pool_starts_nothing_and_rejects_a_bad_limit() -> None:
    started: list[str] = []
    pool = RunPool(1, started.append)
    pool.close()
    pool.submit("a")
    assert started == []
    with pytest.raises(ValueError):
        RunPool(0, started.append)
