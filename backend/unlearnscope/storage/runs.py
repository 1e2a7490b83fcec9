"""The run repository: runs, their event log, frames and artifacts, one method per need.

Every method opens its own short session, so request threads and the per-run event
threads can call it concurrently. Events are written in batches, together with what they
change on the run row (status, step, schedule), in one transaction: a reader that sees a
run finished also sees all of its events.

A run's end is never lost to a full disk: a batch that ends a run (a terminal status
event) and fails for want of room is written again after the space reserve
(storage/reserve.py) is given back. `finish` ends a run whose worker is gone with a
status event, so every run's log ends with one.
"""

from __future__ import annotations

import builtins
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, func, insert, select, update

from ..config import RunConfig, schedule_steps
from ..events import (
    ErrorEvent,
    EventBase,
    FramesEvent,
    ProbesEvent,
    RunFinished,
    RunStarted,
    ScheduleEdit,
    StatusEvent,
    StepMetrics,
)
from ..states import TERMINAL_STATUSES, RunStatus
from .codec import join_event, split_event
from .db import Database, is_disk_full
from .reserve import SpaceReserve
from .tables import DEVICE_CHARS, ArtifactRow, EventRow, FrameRow, RunRow, utcnow


@dataclass
class StoredEvent:
    seq: int
    type: str
    header: dict[str, Any]  # the event's non-byte fields, with "parts" when it has bytes
    blob: bytes | None  # the parts, concatenated

    def event(self) -> EventBase:
        return join_event(self.header, self.blob)


@dataclass
class StoredFrame:
    seq: int
    step: int
    count: int
    size: int
    maps: bytes  # (P, 2, H, W) uint8
    header: dict[str, Any]  # preds, confs, tars, ...


class RunStore:
    def __init__(self, db: Database, reserve: SpaceReserve | None = None) -> None:
        self.db = db
        self.reserve = reserve  # given back when the disk fills while a run ends

    # -- runs ----------------------------------------------------------------------------
    def create(self, run_id: str, config: RunConfig, status: RunStatus) -> RunRow:
        row = RunRow(
            id=run_id,
            name=config.name,
            config=config.model_dump(mode="json"),
            status=status.value,
            message="",
            step=0,
            total_steps=config.total_steps(),
            schedule=[p.model_dump(mode="json") for p in config.schedule],
            last_seq=0,
            created_at=utcnow(),
        )
        with self.db.new_session() as s, s.begin():
            s.add(row)
        return row

    def get(self, run_id: str) -> RunRow | None:
        with self.db.new_session() as s:
            return s.get(RunRow, run_id)

    def list(self, limit: int = 100, offset: int = 0, status: str | None = None) -> list[RunRow]:
        query = select(RunRow).order_by(RunRow.created_at.desc(), RunRow.id)
        if status is not None:
            query = query.where(RunRow.status == status)
        with self.db.new_session() as s:
            return list(s.scalars(query.limit(limit).offset(offset)))

    def ids_with_status(self, statuses: Iterable[RunStatus]) -> builtins.list[str]:
        values = [st.value for st in statuses]
        query = select(RunRow.id).where(RunRow.status.in_(values)).order_by(RunRow.created_at)
        with self.db.new_session() as s:
            return list(s.scalars(query))

    def set_status(
        self,
        run_id: str,
        status: RunStatus,
        message: str = "",
        error: str | None = None,
    ) -> RunRow | None:
        values: dict[str, Any] = {"status": status.value, "message": message}
        if error is not None:
            values["error"] = error
        if status in TERMINAL_STATUSES:
            values["finished_at"] = utcnow()
        with self.db.new_session() as s, s.begin():
            s.execute(update(RunRow).where(RunRow.id == run_id).values(**values))
            return s.get(RunRow, run_id)

    def set_device(self, run_id: str, device: str) -> None:
        """Where the run runs, before its engine reports it (an executor placed it)."""
        with self.db.new_session() as s, s.begin():
            s.execute(
                update(RunRow).where(RunRow.id == run_id).values(device=device[:DEVICE_CHARS])
            )

    def set_exit_code(self, run_id: str, code: int) -> None:
        with self.db.new_session() as s, s.begin():
            s.execute(update(RunRow).where(RunRow.id == run_id).values(exit_code=code))

    def delete(self, run_id: str) -> None:
        with self.db.new_session() as s, s.begin():
            for table in (FrameRow, EventRow, ArtifactRow):
                s.execute(delete(table).where(table.run_id == run_id))
            s.execute(delete(RunRow).where(RunRow.id == run_id))

    # -- events --------------------------------------------------------------------------
    def append(self, run_id: str, events: Sequence[EventBase]) -> tuple[RunRow, bool]:
        """Store a batch of events and apply them to the run row.

        Returns the updated run and whether its status changed. A batch that ends the
        run is written again, once, with the space reserve given back if the disk is full.
        """
        try:
            return self._append(run_id, events)
        except Exception as err:
            ends = any(isinstance(e, StatusEvent) and _terminal(e.status) for e in events)
            if not (ends and is_disk_full(err) and self.reserve and self.reserve.release()):
                raise
            return self._append(run_id, events)

    def finish(
        self, run_id: str, status: RunStatus, message: str, t: float | None = None
    ) -> RunRow | None:
        """End a run whose worker is gone: a `status` event at the end of its log (and the
        row updated with it), unless its log already ends with that status."""
        row = self.get(run_id)
        if row is None:
            return None
        last = self.last_status(run_id)
        if last is not None and last.get("status") == status.value and row.status == status.value:
            return row
        event = StatusEvent(
            seq=row.last_seq + 1,
            t=time.time() if t is None else t,
            status=status.state,
            message=message,
            step=row.step,
        )
        return self.append(run_id, [event])[0]

    def last_status(self, run_id: str) -> dict[str, Any] | None:
        """The stored fields of the run's newest status event, or None."""
        query = (
            select(EventRow.payload)
            .where(EventRow.run_id == run_id, EventRow.type == "status")
            .order_by(EventRow.seq.desc())
            .limit(1)
        )
        with self.db.new_session() as s:
            payload = s.scalars(query).first()
        return dict(payload) if payload is not None else None

    def ended_without_event(self) -> builtins.list[tuple[RunRow, dict[str, Any] | None]]:
        """Ended runs whose log does not end with their status, each with its newest
        status event's fields (None: none): a server that could not write the end, or
        release 0.1.0, which marked some rows only (a stopped run as interrupted at
        shutdown, after its log had said `stopped`)."""
        last = (
            select(EventRow.run_id, func.max(EventRow.seq).label("seq"))
            .where(EventRow.type == "status")
            .group_by(EventRow.run_id)
            .subquery()
        )
        query = (
            select(RunRow, EventRow.payload)
            .outerjoin(last, last.c.run_id == RunRow.id)
            .outerjoin(EventRow, (EventRow.run_id == RunRow.id) & (EventRow.seq == last.c.seq))
            .where(RunRow.status.in_([st.value for st in TERMINAL_STATUSES]))
            .order_by(RunRow.created_at)
        )
        with self.db.new_session() as s:
            rows = s.execute(query).all()
        return [
            (r[0], dict(r[1]) if r[1] is not None else None)
            for r in rows
            if r[1] is None or r[1].get("status") != r[0].status
        ]

    def follow_log(self, run_id: str, status: RunStatus, message: str) -> None:
        """The row's status set to what its log ended with (the log is the record)."""
        values: dict[str, Any] = {"status": status.value, "message": message}
        if status is RunStatus.FAILED:
            values["error"] = message
        with self.db.new_session() as s, s.begin():
            s.execute(update(RunRow).where(RunRow.id == run_id).values(**values))

    def _append(self, run_id: str, events: Sequence[EventBase]) -> tuple[RunRow, bool]:
        event_rows, frame_rows = [], []
        for e in events:
            header, parts = split_event(e)
            blob = b"".join(data for _, data in parts) if parts else None
            if isinstance(e, FramesEvent):
                frame_rows.append(
                    {
                        "run_id": run_id,
                        "seq": e.seq,
                        "step": e.step,
                        "count": e.count,
                        "size": e.size,
                        "maps": e.maps,
                    }
                )
                blob = None  # kept once, in `frames`
            event_rows.append(
                {
                    "run_id": run_id,
                    "seq": e.seq,
                    "type": header["type"],
                    "step": getattr(e, "step", None),
                    "t": e.t,
                    "payload": header,
                    "blob": blob,
                }
            )
        with self.db.new_session() as s, s.begin():
            run = s.get(RunRow, run_id)
            if run is None:
                raise KeyError(run_id)
            before = run.status
            if event_rows:
                s.execute(insert(EventRow), event_rows)
            if frame_rows:
                s.execute(insert(FrameRow), frame_rows)
            for e in events:
                _apply(run, e)
        return run, run.status != before

    def events_after(
        self,
        run_id: str,
        after: int = 0,
        limit: int = 1000,
        types: Sequence[str] | None = None,
        with_bytes: bool = True,
    ) -> builtins.list[StoredEvent]:
        """Events with seq > after, in order; frames get their maps from `frames`."""
        cols = [EventRow.seq, EventRow.type, EventRow.payload]
        if with_bytes:
            cols += [EventRow.blob, FrameRow.maps]
        query = select(*cols).where(EventRow.run_id == run_id, EventRow.seq > after)
        if with_bytes:
            query = query.outerjoin(
                FrameRow, (FrameRow.run_id == EventRow.run_id) & (FrameRow.seq == EventRow.seq)
            )
        if types:
            query = query.where(EventRow.type.in_(list(types)))
        query = query.order_by(EventRow.seq).limit(limit)
        with self.db.new_session() as s:
            # Any: the columns (and so the row's shape) depend on `with_bytes`
            rows: Sequence[Any] = s.execute(query).all()
        out = []
        for row in rows:
            blob = (row[3] if row[3] is not None else row[4]) if with_bytes else None
            out.append(StoredEvent(row[0], row[1], row[2], blob))
        return out

    def iter_events(
        self, run_id: str, after: int = 0, types: Sequence[str] | None = None, page: int = 500
    ) -> Iterable[StoredEvent]:
        while True:
            batch = self.events_after(run_id, after, page, types)
            yield from batch
            if len(batch) < page:
                return
            after = batch[-1].seq

    def load_events(
        self, run_id: str, types: Sequence[str] | None = None
    ) -> builtins.list[EventBase]:
        return [e.event() for e in self.iter_events(run_id, 0, types)]

    def last_seq(self, run_id: str) -> int:
        with self.db.new_session() as s:
            return int(
                s.scalar(select(func.max(EventRow.seq)).where(EventRow.run_id == run_id)) or 0
            )

    def headers(self, run_id: str, types: Sequence[str]) -> builtins.list[dict[str, Any]]:
        """The stored fields (no bytes) of a run's events of these types, in seq order."""
        query = (
            select(EventRow.payload)
            .where(EventRow.run_id == run_id, EventRow.type.in_(list(types)))
            .order_by(EventRow.seq)
        )
        with self.db.new_session() as s:
            payloads: Sequence[dict[str, Any]] = s.scalars(query).all()
        return [dict(p) for p in payloads]

    def model_keys(self, run_ids: Sequence[str] | None = None) -> dict[str, str]:
        """run id -> the backdoored model's cache key (RunStarted.model_key), for the runs
        that got that far (and recorded one)."""
        query = select(EventRow.run_id, EventRow.payload).where(EventRow.type == "run_started")
        if run_ids is not None:
            query = query.where(EventRow.run_id.in_(list(run_ids)))
        with self.db.new_session() as s:
            rows = s.execute(query).all()
        return {r[0]: str(r[1].get("model_key")) for r in rows if r[1].get("model_key")}

    def get_many(self, run_ids: Sequence[str]) -> builtins.list[RunRow]:
        """The runs among `run_ids` that exist, in the order given."""
        with self.db.new_session() as s:
            rows = {r.id: r for r in s.scalars(select(RunRow).where(RunRow.id.in_(list(run_ids))))}
        return [rows[i] for i in run_ids if i in rows]

    # -- frames --------------------------------------------------------------------------
    def frame_steps(self, run_id: str) -> builtins.list[int]:
        query = select(FrameRow.step).where(FrameRow.run_id == run_id).order_by(FrameRow.seq)
        with self.db.new_session() as s:
            return sorted(set(s.scalars(query)))

    def frame_at(self, run_id: str, step: int) -> StoredFrame | None:
        """The newest frame at `step`, or else the newest before it; None if there is none."""
        query = (
            select(FrameRow, EventRow.payload)
            .join(EventRow, (EventRow.run_id == FrameRow.run_id) & (EventRow.seq == FrameRow.seq))
            .where(FrameRow.run_id == run_id, FrameRow.step <= step)
            .order_by(FrameRow.step.desc(), FrameRow.seq.desc())
            .limit(1)
        )
        with self.db.new_session() as s:
            row = s.execute(query).first()
        if row is None:
            return None
        frame, header = row[0], row[1]
        return StoredFrame(frame.seq, frame.step, frame.count, frame.size, frame.maps, header)

    def probes(self, run_id: str) -> ProbesEvent | None:
        found = self.events_after(run_id, 0, 1, types=["probes"])
        event = found[0].event() if found else None
        return event if isinstance(event, ProbesEvent) else None

    def run_started(self, run_id: str) -> RunStarted | None:
        found = self.events_after(run_id, 0, 1, types=["run_started"])
        event = found[0].event() if found else None
        return event if isinstance(event, RunStarted) else None

    # -- artifacts -----------------------------------------------------------------------
    def put_artifact(self, run_id: str, kind: str, path: str, size: int) -> None:
        """Record the artifact `kind` of a run (one per kind: a newer file replaces it)."""
        with self.db.new_session() as s, s.begin():
            s.execute(
                delete(ArtifactRow).where(ArtifactRow.run_id == run_id, ArtifactRow.kind == kind)
            )
            s.add(ArtifactRow(run_id=run_id, kind=kind, path=path, size=size, created_at=utcnow()))

    def artifact(self, run_id: str, kind: str) -> ArtifactRow | None:
        query = select(ArtifactRow).where(ArtifactRow.run_id == run_id, ArtifactRow.kind == kind)
        with self.db.new_session() as s:
            return s.scalars(query).first()

    def artifacts(self, run_id: str) -> builtins.list[ArtifactRow]:
        query = select(ArtifactRow).where(ArtifactRow.run_id == run_id).order_by(ArtifactRow.id)
        with self.db.new_session() as s:
            return list(s.scalars(query))


def _terminal(status: str) -> bool:
    return status in {st.value for st in TERMINAL_STATUSES}


def _apply(run: RunRow, e: EventBase) -> None:
    """What one event changes on its run row."""
    run.last_seq = max(run.last_seq, e.seq)
    if isinstance(e, StatusEvent):
        status = RunStatus(e.status)
        if status is RunStatus.PREPARING and run.started_at is None:
            run.started_at = utcnow()
        if status in TERMINAL_STATUSES and run.finished_at is None:
            run.finished_at = utcnow()
        if status is RunStatus.FAILED:
            run.error = e.message
        run.status = status.value
        run.message = e.message
        run.step = max(run.step, e.step)
    elif isinstance(e, StepMetrics):
        run.step = e.step
    elif isinstance(e, RunStarted):
        run.total_steps = e.total_steps
        run.device = e.device[:DEVICE_CHARS]
        run.schedule = e.schedule
    elif isinstance(e, ScheduleEdit) and e.accepted:
        run.schedule = e.schedule
        run.total_steps = schedule_steps(e.schedule)
    elif isinstance(e, RunFinished):
        run.summary = {"before": e.before, "after": e.after, "wall_time": e.wall_time}
    elif isinstance(e, ErrorEvent) and e.fatal:
        run.error = e.message
