"""The sweep repository: named sets of runs, stored beside them (survive a restart).

A sweep row holds its spec, each run's grid cell and the run ids; the runs themselves are
ordinary runs (storage/runs.py). Deleting a run leaves the sweep naming an id that is gone;
readers skip it.
"""

from __future__ import annotations

import builtins
from typing import Any

from sqlalchemy import select, update

from .db import Database
from .tables import SweepRow, utcnow


class SweepStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    def create(
        self,
        sweep_id: str,
        name: str,
        spec: dict[str, Any],
        cells: builtins.list[dict[str, Any]],
        run_ids: builtins.list[str],
    ) -> SweepRow:
        row = SweepRow(
            id=sweep_id, name=name, spec=spec, cells=cells, run_ids=run_ids, created_at=utcnow()
        )
        with self.db.new_session() as s, s.begin():
            s.add(row)
        return row

    def get(self, sweep_id: str) -> SweepRow | None:
        with self.db.new_session() as s:
            return s.get(SweepRow, sweep_id)

    def list(self, limit: int = 100, offset: int = 0) -> builtins.list[SweepRow]:
        query = select(SweepRow).order_by(SweepRow.created_at.desc(), SweepRow.id)
        with self.db.new_session() as s:
            return list(s.scalars(query.limit(limit).offset(offset)))

    def mark_stopped(self, sweep_id: str) -> None:
        with self.db.new_session() as s, s.begin():
            s.execute(update(SweepRow).where(SweepRow.id == sweep_id).values(stopped_at=utcnow()))
