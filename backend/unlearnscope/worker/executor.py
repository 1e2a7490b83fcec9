"""Where a run's engine lives: the two implementations of `Executor` (contract.py).

    local  a spawned worker process on this machine per run, a fixed number of slots
           (`handle.WorkerHandle`, `pool.RunPool`); the default, today's code path
    ray    a named, detached actor per run on a Ray cluster (`ray_executor.RayExecutor`);
           the cluster's resources decide how many run at once

Both hand the server a `RunHandle`: control messages in (`send`), events out (the
`on_events` callback, in seq order, each event once), and one `on_exit` call when the
engine is gone, with its `WorkerExit` when it ended on its own terms. The server (api/
service) does not know which one it talks to, so the API, the event log and the page
behave the same either way.
"""

from __future__ import annotations

from .contract import Executor, OnPlaced, RunHandle
from .handle import OnEvents, OnExit, WorkerHandle
from .process import WorkerSpec

__all__ = ["Executor", "LocalExecutor", "OnPlaced", "RunHandle", "make_executor"]

LOCAL_POOL_NOTE = "starting a worker process"


class LocalExecutor:
    """Today's worker processes: one spawned process per run, `max_active_runs` slots."""

    name = "local"
    places_at_once = True
    detaches = False

    def pool_size(self, max_active_runs: int) -> int:
        return max_active_runs

    def capacity(self, max_active_runs: int) -> int:
        return max_active_runs

    def handle(
        self, spec: WorkerSpec, on_events: OnEvents, on_exit: OnExit, on_placed: OnPlaced
    ) -> RunHandle:
        return WorkerHandle(spec, on_events, on_exit)

    def reattach(
        self,
        spec: WorkerSpec,
        after: int,
        on_events: OnEvents,
        on_exit: OnExit,
        on_placed: OnPlaced,
    ) -> RunHandle | None:
        return None  # a local worker dies with its server (its pipes close)

    def waiting_note(self) -> str:
        return LOCAL_POOL_NOTE

    def close(self) -> None:
        pass


def make_executor(
    name: str, ray_address: str = "auto", num_cpus: float = 1.0, num_gpus: float = 0.0
) -> Executor:
    """The executor called `name` ("local" or "ray"; Ray is imported only for "ray")."""
    if name == "local":
        return LocalExecutor()
    if name == "ray":
        from .ray_executor import RayExecutor

        return RayExecutor(ray_address, num_cpus=num_cpus, num_gpus=num_gpus)
    raise ValueError(f"executor must be 'local' or 'ray', got {name!r}")
