"""Sweeps on the server: expand and check every cell, then queue the runs as usual.

A sweep is stored (storage/sweeps.py) with its runs' ids; its runs are ordinary runs
(they queue, share the cached backdoored model and stream like any other). Stopping a
sweep stops each of its runs that has not ended.

Threads: `create`, `get`, `list` run on request threads (database and pool calls, each
locked where shared); `stop` is a coroutine on the event loop (it awaits each run's stop).
"""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

from ...states import TERMINAL_STATUSES, RunStatus
from ...storage.sweeps import SweepStore
from ...storage.tables import RunRow, SweepRow
from ...sweeps import SweepError, SweepSpec, cell_count, expand
from ..errors import DomainError, InvalidInput, LimitExceeded, NotAvailable, WrongState
from .admission import Admission
from .controls import Controls
from .core import ServerCore


class SweepNotFound(NotAvailable):
    def __init__(self, sweep_id: str) -> None:
        super().__init__(f"no sweep {sweep_id!r}; GET /api/sweeps lists them", sweep_id=sweep_id)


class Sweeps:
    def __init__(
        self, core: ServerCore, store: SweepStore, admission: Admission, controls: Controls
    ) -> None:
        self.settings = core.settings
        self.store = store
        self.views = core.views
        self.admission = admission
        self.controls = controls

    def create(self, spec: SweepSpec, client: str = "") -> dict[str, Any]:
        """Check every cell (config and server limits), then store the runs and the sweep.

        422 names the first bad cell and field; nothing is stored then."""
        self.admission.require_writable()
        limit = self.settings.max_sweep_runs
        n = cell_count(spec)
        if n > limit:
            raise LimitExceeded(
                f"{n} cells; at most {limit} runs per sweep (setting UNLEARNSCOPE_MAX_SWEEP_RUNS)",
                limit="max_sweep_runs",
                field="grid",
            )
        try:
            cells = expand(spec, max_cells=limit)
        except SweepError as err:
            raise InvalidInput(
                "invalid sweep: " + "; ".join(err.lines),
                errors=err.lines,
                fields=err.fields,
                cell=err.cell,
            ) from None
        for cell in cells:
            try:
                self.admission.check(cell.config)
            except DomainError as err:
                where = f"cell {cell.index + 1} ({cell.label})"
                lines = [f"{where}: {ln}" for ln in err.extra.get("errors", [err.detail])]
                raise InvalidInput(
                    f"invalid sweep: {lines[0]}",
                    errors=lines,
                    fields=err.extra.get("fields", []),
                    cell=cell.index,
                ) from None
        sweep_id = uuid.uuid4().hex[:12]
        run_ids: list[str] = []
        for cell in cells:
            row = self.admission.create(cell.config, client, queue_limit=False)
            run_ids.append(row.id)
        self.store.create(
            sweep_id,
            spec.name,
            spec.model_dump(mode="json"),
            [{"index": c.index, "values": c.values, "label": c.label} for c in cells],
            run_ids,
        )
        return self.require(sweep_id)

    def row(self, sweep_id: str) -> SweepRow:
        row = self.store.get(sweep_id)
        if row is None:
            raise SweepNotFound(sweep_id)
        return row

    def view(self, row: SweepRow, with_runs: bool = True) -> dict[str, Any]:
        runs: list[RunRow] = []
        for run_id in row.run_ids:
            run = self.views.get(run_id)
            if run is not None:
                runs.append(run)
        counts: dict[str, int] = {}
        for r in runs:
            counts[r.status] = counts.get(r.status, 0) + 1
        done = sum(1 for r in runs if RunStatus(r.status) in TERMINAL_STATUSES)
        out: dict[str, Any] = {
            "id": row.id,
            "name": row.name,
            "spec": row.spec,
            "cells": row.cells,
            "run_ids": row.run_ids,
            "created_at": row.created_at.isoformat(),
            "stopped_at": row.stopped_at.isoformat() if row.stopped_at else None,
            "counts": counts,
            "done": done,
            "total": len(row.run_ids),
            "compare_url": f"#/compare/{','.join(r.id for r in runs[:12])}"
            if len(runs) >= 2
            else None,
        }
        if with_runs:
            out["runs"] = [self.views.view(r).model_dump(mode="json") for r in runs]
        return out

    def require(self, sweep_id: str) -> dict[str, Any]:
        return self.view(self.row(sweep_id))

    def list(self, limit: int = 100, offset: int = 0) -> list[dict[str, Any]]:
        return [self.view(r, with_runs=False) for r in self.store.list(limit, offset)]

    async def stop(self, sweep_id: str) -> dict[str, Any]:
        """Stop every run of the sweep that has not ended; the sweep as it is then."""
        self.admission.require_writable()
        row = await asyncio.to_thread(self.row, sweep_id)
        await asyncio.to_thread(self.store.mark_stopped, sweep_id)
        for run_id in row.run_ids:
            run = await asyncio.to_thread(self.views.get, run_id)
            if run is None or RunStatus(run.status) in TERMINAL_STATUSES:
                continue
            try:
                await self.controls.control(run_id, "stop")
            except WrongState:
                pass  # it ended meanwhile
        return await asyncio.to_thread(self.require, sweep_id)
