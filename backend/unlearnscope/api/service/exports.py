"""A run's export zip: config, metrics, frames and (when it matches) the model.

Threads: request threads (the route runs it in the thread pool). Shared state: one lock
per run from `LiveRuns.export_lock` (two downloads of one run build the zip once, one
after the other; dropped when the run is deleted); `Conditions.read_only` (read whole).
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from ...states import TERMINAL_STATUSES, RunStatus
from ...storage.artifacts import saved_step
from ...storage.exports import forget_set_csv, write_export_zip
from .core import ServerCore


class Exports:
    def __init__(self, core: ServerCore) -> None:
        self.store = core.store
        self.files = core.files
        self.live = core.live
        self.views = core.views
        self.conditions = core.conditions

    def export(self, run_id: str) -> Path:
        """The run's export zip (rebuilt unless a finished run's zip is up to date)."""
        row = self.views.require(run_id)
        read_only = self.conditions.read_only is not None
        with self.live.export_lock(run_id):
            out = self.files.export_path(run_id)
            if read_only:  # the artifacts folder cannot be written: a temp file
                out = Path(tempfile.gettempdir()) / "unlearnscope-exports" / run_id / "export.zip"
                out.parent.mkdir(parents=True, exist_ok=True)
            done = RunStatus(row.status) in TERMINAL_STATUSES
            known = self.store.artifact(run_id, "export")
            if done and known is not None and out.exists() and row.finished_at is not None:
                if known.created_at >= row.finished_at:
                    return out
            model = self.files.model_path(run_id)
            # The model goes in only when it is the one of the recorded step.
            usable = model.exists() and saved_step(model) in (None, row.step)
            events = self.store.load_events(run_id)
            write_export_zip(
                out,
                row.config,
                events,
                model if usable else None,
                folder=f"{row.name}-{run_id}",
            )
            if not read_only:
                size = out.stat().st_size
                self.store.put_artifact(run_id, "export", self.files.relative(out), size)
            return out

    def forget_set(self, run_id: str) -> str | None:
        """The CSV of the samples the run's detection phases flagged; None when none has
        decided (yet)."""
        self.views.require(run_id)
        return forget_set_csv(self.store.load_events(run_id, ["forget_set_found"]))
