"""Comparing runs and ranking defences: the compare view's facts and the leaderboard.

Read-only; every call is a few database reads (run it off the event loop). The numbers
are `unlearnscope.comparison`'s (config_diff, headline, DER, rank order). No state.
"""

from __future__ import annotations

from typing import Any

from ...comparison import as_run, config_diff, diff_labels, diff_rows, model_label, seed_groups
from ...scores import headline, rank_key, ranked_by, scores_at_steps
from ...storage.tables import RunRow
from ...verdict import criteria_of
from ..errors import InvalidInput, NotAvailable, RunNotFound
from .core import ServerCore

MIN_COMPARE, MAX_COMPARE = 2, 12  # runs in one compare view
HEADLINE_TYPES = ("run_started", "evaluation", "measurement", "run_finished")


class Comparisons:
    def __init__(self, core: ServerCore) -> None:
        self.store = core.store
        self.views = core.views

    def headline(self, row: RunRow, headers: list[dict[str, Any]] | None = None) -> dict[str, Any]:
        """A run's headline numbers (scores.headline) from its stored events, with its
        verdict against the run's success criteria (config `success`)."""
        wall = (row.summary or {}).get("wall_time")
        events = headers or self.store.headers(row.id, HEADLINE_TYPES)
        out = headline(events, wall, criteria_of(row.config))
        out["steps"] = max(out["steps"], row.step)
        return out

    def compare(self, ids: list[str]) -> dict[str, Any]:
        """What the compare view needs besides the runs' streams: the runs, what differs
        between their configs (with the schedules in force: every view names the schedule
        a run followed; `diff_rows`: a row per setting, every phase setting counted), each
        run's legend text, seed groups, model keys, headline
        numbers and scores at every measured step (scores.py: the page computes none),
        and whether they share probe samples."""
        ids = list(dict.fromkeys(i for i in ids if i))  # in order, once each
        if not MIN_COMPARE <= len(ids) <= MAX_COMPARE:
            if len(ids) <= MAX_COMPARE:  # too few: a run that does not exist is said first
                self._require(ids)
            given = len(ids)
            line = f"query.ids: give {MIN_COMPARE} to {MAX_COMPARE} distinct run ids, got {given}"
            raise InvalidInput(line, errors=[line], fields=["query.ids"])
        rows = self._require(ids)
        configs = [as_run(r.config, r.schedule) for r in rows]  # the schedules in force
        diff = config_diff(configs)
        keys = self.store.model_keys(ids)
        probes = {}
        for r in rows:
            p = self.store.probes(r.id)
            if p is not None:
                probes[r.id] = p.indices
        distinct = {tuple(v) for v in probes.values()}
        headers = {r.id: self.store.headers(r.id, HEADLINE_TYPES) for r in rows}
        return {
            "runs": [self.views.view(r).model_dump(mode="json") for r in rows],
            "diff": diff,
            "diff_rows": diff_rows(configs, diff),
            "labels": dict(zip(ids, diff_labels(configs, diff), strict=True)),
            "seed_groups": seed_groups({r.id: c for r, c in zip(rows, configs, strict=True)}),
            "model_keys": {i: keys.get(i) for i in ids},
            "headline": {r.id: self.headline(r, headers[r.id]) for r in rows},
            "scores": {r.id: scores_at_steps(headers[r.id]) for r in rows},
            "probe_indices": probes,
            "probes_shared": len(distinct) <= 1,
        }

    def _require(self, ids: list[str]) -> list[RunRow]:
        """The runs `ids`, or RunNotFound (404) for the first that does not exist."""
        rows = self.store.get_many(ids)
        missing = [i for i in ids if i not in {r.id for r in rows}]
        if missing:
            raise RunNotFound(missing[0])
        return rows

    def model_keys(self) -> list[dict[str, Any]]:
        """Every backdoored model some run unlearned: key, label, how many runs; the most
        runs first, then the newest."""
        keys = self.store.model_keys()
        rows = self.store.get_many(list(keys))
        groups: dict[str, list[RunRow]] = {}
        for r in rows:
            groups.setdefault(keys[r.id], []).append(r)
        out = []
        for key, members in groups.items():
            newest = max(members, key=lambda r: r.created_at)
            out.append(
                {
                    "model_key": key,
                    "label": model_label(newest.config),
                    "runs": len(members),
                    "finished": sum(1 for r in members if r.summary is not None),
                    "newest": newest.created_at.isoformat(),
                }
            )
        out.sort(key=lambda g: (g["runs"], str(g["newest"])), reverse=True)
        return out

    def leaderboard(self, model_key: str) -> dict[str, Any]:
        """The runs that unlearned the model `model_key`, best defence first (rank_key)."""
        keys = self.store.model_keys()
        ids = [i for i, k in keys.items() if k == model_key]
        if not ids:
            raise NotAvailable(
                f"no run unlearned a model with key {model_key!r}; GET /api/leaderboard "
                "lists the keys",
                model_key=model_key,
            )
        rows = self.store.get_many(ids)
        labels = diff_labels([as_run(r.config, r.schedule) for r in rows])
        entries = []
        for r, label in zip(rows, labels, strict=True):
            entries.append(
                {
                    "run_id": r.id,
                    "name": r.name,
                    "status": r.status,
                    "differs": label,
                    "schedule": r.schedule,
                    "plan": self.views.plan(r),
                    "url": f"#/run/{r.id}",
                    **self.headline(r),
                }
            )
        first = ranked_by(entries)
        entries.sort(key=lambda e: rank_key(e, first))
        for i, e in enumerate(entries):
            e["rank"] = i + 1
        top = [e["run_id"] for e in entries[:3]]
        return {
            "model_key": model_key,
            "label": model_label(rows[0].config),
            "ranked_by": first,
            "entries": entries,
            "compare_top": f"#/compare/{','.join(top)}" if len(top) >= MIN_COMPARE else None,
        }
