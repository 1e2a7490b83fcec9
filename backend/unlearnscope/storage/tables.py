"""The database tables: runs, their numbered event log, heatmap frames and artifacts.

Byte fields of events (probe images, sample reports) live in `events.blob`; the heatmap
maps of a `FramesEvent` live once, in `frames.maps`, and the event row points at them
through (run_id, seq). Every JSON column holds plain JSON (no pickles).
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

from .upgrade import current_names

DEVICE_CHARS = 100  # a longer device text is cut to fit (PostgreSQL refuses, SQLite not)


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


class UTCDateTime(TypeDecorator[datetime]):
    """Timestamps in UTC, timezone-aware on the way out (SQLite keeps no zone)."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is not None and value.tzinfo is not None:
            value = value.astimezone(timezone.utc).replace(tzinfo=None)
        return value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        return value.replace(tzinfo=timezone.utc) if value is not None else None


class CurrentJSON(TypeDecorator[Any]):
    """JSON read in today's names (storage/upgrade.py): a run stored by an older version
    (a renamed phase kind, flat attack fields) replays, compares and re-runs as written
    today. Reads only; what is written is already current."""

    impl = JSON
    cache_ok = True

    def process_result_value(self, value: Any, dialect: Any) -> Any:
        return current_names(value)


class Base(DeclarativeBase):
    type_annotation_map: ClassVar[dict[Any, Any]] = {dict[str, Any]: JSON, list[Any]: JSON}


class RunRow(Base):
    __tablename__ = "runs"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    config: Mapped[dict[str, Any]] = mapped_column(CurrentJSON)  # the RunConfig as submitted
    status: Mapped[str] = mapped_column(String(16), index=True)  # RunStatus value
    message: Mapped[str] = mapped_column(Text, default="")
    error: Mapped[str | None] = mapped_column(Text, nullable=True)  # why it failed
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    step: Mapped[int] = mapped_column(Integer, default=0)  # global steps taken
    total_steps: Mapped[int] = mapped_column(Integer, default=0)  # of the schedule in force
    schedule: Mapped[list[Any]] = mapped_column(CurrentJSON)  # the schedule in force (after edits)
    last_seq: Mapped[int] = mapped_column(Integer, default=0)  # newest event stored
    # the device, and where it is (a Ray run: "cuda:0 on 10.0.0.7 node 3f2a1b")
    device: Mapped[str | None] = mapped_column(String(DEVICE_CHARS), nullable=True)
    summary: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)  # before/after
    exit_code: Mapped[int | None] = mapped_column(Integer, nullable=True)  # worker's


class EventRow(Base):
    __tablename__ = "events"

    run_id: Mapped[str] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True)
    seq: Mapped[int] = mapped_column(Integer, primary_key=True)
    type: Mapped[str] = mapped_column(String(32))
    step: Mapped[int | None] = mapped_column(Integer, nullable=True)
    t: Mapped[float] = mapped_column()
    payload: Mapped[dict[str, Any]] = mapped_column(CurrentJSON)  # non-byte fields + "parts"
    blob: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)  # parts, joined

    __table_args__ = (Index("ix_events_run_type", "run_id", "type"),)


class FrameRow(Base):
    """The Grad-CAM maps of every probe sample at one step: (P, 2, H, W) uint8."""

    __tablename__ = "frames"

    run_id: Mapped[str] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True)
    seq: Mapped[int] = mapped_column(Integer, primary_key=True)  # of its FramesEvent
    step: Mapped[int] = mapped_column(Integer)
    count: Mapped[int] = mapped_column(Integer)  # P probe samples
    size: Mapped[int] = mapped_column(Integer)  # H = W
    maps: Mapped[bytes] = mapped_column(LargeBinary)

    __table_args__ = (Index("ix_frames_run_step", "run_id", "step"),)


class ArtifactRow(Base):
    __tablename__ = "artifacts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    run_id: Mapped[str] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(32))  # "model" | "export"
    path: Mapped[str] = mapped_column(Text)  # relative to the artifacts folder
    size: Mapped[int] = mapped_column(Integer, default=0)  # bytes
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class SweepRow(Base):
    """A named set of runs made from one base config and a grid over some of its fields."""

    __tablename__ = "sweeps"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    spec: Mapped[dict[str, Any]] = mapped_column(JSON)  # the SweepSpec as submitted
    cells: Mapped[list[Any]] = mapped_column(JSON)  # per run: {path: value} of its grid cell
    run_ids: Mapped[list[Any]] = mapped_column(JSON)  # in cell order
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    stopped_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
