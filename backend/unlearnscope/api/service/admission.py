"""Admitting a new run: server limits, data roots, disk space, queued runs per client.

Threads: runs on request threads. Shared state: `Conditions.disk_full` (whole-value
writes; reader threads set it too, on a failed write), `LiveRuns` owners (its lock).
"""

from __future__ import annotations

import shutil
import uuid

from ...config import CheckConfig, RunConfig
from ...states import RunStatus
from ...storage.db import is_disk_full
from ...storage.tables import RunRow
from ..errors import DiskFull, ReadOnly, TooManyQueued
from ..limits import check_budgets, check_data_root, check_limits, server_paths
from .bridge import DISK_FULL, EventBridge
from .core import ServerCore

MIB = 1024 * 1024


def new_run_id() -> str:
    return uuid.uuid4().hex[:12]


class Admission:
    def __init__(self, core: ServerCore, bridge: EventBridge) -> None:
        self.settings = core.settings
        self.store = core.store
        self.pool = core.pool
        self.live = core.live
        self.bridge = bridge
        self.conditions = core.conditions

    def require_writable(self) -> None:
        """DiskFull (507) or ReadOnly (503), naming the cause, on a read-only server."""
        if self.conditions.read_only:
            cause = self.conditions.read_only_cause or "read-only"
            if cause == "disk full":
                raise DiskFull(self.conditions.read_only, reason=cause)
            raise ReadOnly(self.conditions.read_only, reason=cause)

    def check(self, config: RunConfig) -> RunConfig:
        """The checks a run passes before it is stored (limits, data root): 422 if not.
        Returns the run with its paths as the server reads them (`server_paths`)."""
        config = server_paths(config, self.settings)
        check_data_root(config, self.settings)
        check_limits(config, self.settings)
        check_budgets(config, self.settings)
        return config

    def check_paths(self, config: CheckConfig) -> CheckConfig:
        """A check's paths as the server reads them, each inside its roots (422 if not)."""
        config = server_paths(config, self.settings)
        check_data_root(config, self.settings)
        return config

    def create(self, config: RunConfig, client: str = "", queue_limit: bool = True) -> RunRow:
        """Store a new run and queue it; 4xx/5xx domain errors when it may not start.

        `queue_limit` False: a sweep's runs, whose number is capped by its own setting
        (max_sweep_runs), not by the runs a client may have waiting."""
        self.require_writable()
        config = self.check(config)
        self.check_disk()
        mine = self.live.owned_by(client, self.pool.positions())
        if queue_limit and mine >= self.settings.max_queued_per_client:
            raise TooManyQueued(
                f"you have {mine} runs waiting to start; this server allows "
                f"{self.settings.max_queued_per_client} per client "
                "(UNLEARNSCOPE_MAX_QUEUED_PER_CLIENT): wait for one to start, or stop one",
                limit="max_queued_per_client",
            )
        run_id = new_run_id()
        try:
            row = self.store.create(run_id, config, RunStatus.QUEUED)
        except Exception as err:
            if is_disk_full(err):
                self.conditions.disk_full = DISK_FULL
                raise DiskFull(
                    f"{DISK_FULL}: the run was not created; free some space and try again",
                    reason=DISK_FULL,
                ) from None
            raise
        self.live.set_owner(run_id, client)
        self.bridge.publish_run(row)
        self.pool.submit(run_id)
        return self.store.get(run_id) or row

    def check_disk(self) -> None:
        """DiskFull (507) while the disk is full: after a failed write, or below the
        free-space floor; cleared once there is room again."""
        floor = self.settings.min_free_disk_mb * MIB
        try:
            free: int | None = shutil.disk_usage(self.settings.home).free
        except OSError:
            free = None
        if free is not None and free < floor:
            self.conditions.disk_full = self.conditions.disk_full or DISK_FULL
            raise DiskFull(
                f"{self.conditions.disk_full}: {free // MIB} MiB free, new runs need "
                f"{self.settings.min_free_disk_mb} MiB (UNLEARNSCOPE_MIN_FREE_DISK_MB); free "
                "some space (delete old runs) and try again",
                reason=self.conditions.disk_full,
            )
        self.conditions.disk_full = None
        reserve = self.store.reserve
        if reserve is not None and not reserve.held():  # room again: keep some back again
            reserve.make()
