"""Server-wide conditions the routes report (health) and act on: read-only, disk full,
shutting down, the resolved device.

Shared across threads: each field is a plain attribute written whole (one reference
assignment: atomic under the GIL) and read without a lock; a reader sees the old value
or the new one, and either is a correct answer at that moment. Writers: `read_only`
and `shutting_down` the lifecycle (start-up, shutdown), `disk_full` requests (admission)
and reader threads (a failed write), `device` the start-up thread that resolves it.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class Conditions:
    device: str  # the setting until resolved at start, then e.g. "cpu" or "cuda:0"
    read_only: str | None = None  # why the server serves its history read-only
    read_only_cause: str | None = None  # storage/home.py's cause ("disk full": 507, else 503)
    disk_full: str | None = None  # why new runs are refused (507), while so
    shutting_down: bool = False
