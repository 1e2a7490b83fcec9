"""Taking a run away: one self-contained HTML report, and an animated heatmap clip.

facts = facts_from_store(store, run_id)     # or gather(meta, events)
write_report(facts, Path("report.html"))
write_clip(facts, Path("clip.gif"))
"""

from __future__ import annotations

from .data import RunFacts, facts_from_store, gather
from .html import build_report, write_report

__all__ = ["RunFacts", "build_report", "facts_from_store", "gather", "write_report"]
