"""Tiny runs recorded in a RunStore, as the server would have stored them (no server)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from unlearnscope.config import RunConfig
from unlearnscope.events import EventBase
from unlearnscope.ml.checkpoints import FileModelStore
from unlearnscope.ml.engine import Engine
from unlearnscope.presets import preset_config
from unlearnscope.states import RunStatus
from unlearnscope.storage.db import Database
from unlearnscope.storage.runs import RunStore

# The runs the report tests record (tests/report/conftest.py), by id.
COMPLETED, STOPPED, FAILED = "tinydone0001", "tinystop0001", "tinyfail0001"


def open_store(home: Path) -> RunStore:
    """The store a server with `--home home` reads (its default SQLite file)."""
    db = Database(f"sqlite:///{home / 'unlearnscope.db'}")
    db.create_all()
    return RunStore(db)


def record_run(
    store: RunStore,
    run_id: str,
    cache: Path,
    overrides: dict[str, Any] | None = None,
    stop_after: int | None = None,
) -> tuple[RunConfig, list[EventBase]]:
    """Run the tiny preset in this process and store its events under `run_id`.

    `stop_after`: send a stop once this many steps are done (a stopped run).
    """
    config = preset_config("tiny", overrides)
    store.create(run_id, config, RunStatus.QUEUED)
    events: list[EventBase] = []
    engine: Engine

    def poll(block: bool) -> list[Any]:
        if stop_after is not None and engine.step_count >= stop_after:
            return [{"op": "stop"}]
        return []

    engine = Engine(
        config,
        events.append,
        device="cpu",
        data_cache_dir=cache / "data",
        store=FileModelStore(cache / "models"),
    )
    state = engine.run(poll)
    store.append(run_id, events)
    row = store.get(run_id)
    if state is RunStatus.FAILED and row is not None and row.status != "failed":
        store.set_status(run_id, RunStatus.FAILED, "failed")
    return config, events
