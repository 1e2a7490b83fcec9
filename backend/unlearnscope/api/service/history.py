"""A run's recorded history, as the routes read it: events, frames, probes, report facts.

Read-only; every call is one database read (run it off the event loop). No state.
"""

from __future__ import annotations

from collections.abc import Sequence

from ...events import EventBase, ProbesEvent, RunStarted
from ...report.data import RunFacts, facts_from_store
from ...storage.runs import RunStore, StoredEvent, StoredFrame


class RunHistory:
    def __init__(self, store: RunStore) -> None:
        self.store = store

    def events_after(
        self,
        run_id: str,
        after: int = 0,
        limit: int = 1000,
        types: Sequence[str] | None = None,
        with_bytes: bool = True,
    ) -> list[StoredEvent]:
        """Events with seq > after, in order (headers only unless `with_bytes`)."""
        return self.store.events_after(run_id, after, limit, types, with_bytes)

    def event(self, run_id: str, seq: int) -> StoredEvent | None:
        """Event `seq` with its bytes, or None."""
        found = self.store.events_after(run_id, seq - 1, 1)
        return found[0] if found and found[0].seq == seq else None

    def load_events(self, run_id: str, types: Sequence[str] | None = None) -> list[EventBase]:
        return self.store.load_events(run_id, types)

    def frame_steps(self, run_id: str) -> list[int]:
        return self.store.frame_steps(run_id)

    def frame_at(self, run_id: str, step: int) -> StoredFrame | None:
        """The newest heatmap frame at or before `step`."""
        return self.store.frame_at(run_id, step)

    def probes(self, run_id: str) -> ProbesEvent | None:
        return self.store.probes(run_id)

    def run_started(self, run_id: str) -> RunStarted | None:
        return self.store.run_started(run_id)

    def facts(self, run_id: str) -> RunFacts:
        """What the HTML report and the clip show."""
        return facts_from_store(self.store, run_id)
