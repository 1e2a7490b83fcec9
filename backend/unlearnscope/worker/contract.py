"""The executor contract: what the server holds of a run's engine (`RunHandle`) and of
where engines live (`Executor`); the implementations are in executor.py (local) and
ray_executor.py (Ray)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from ..control import Control
from .handle import OnEvents, OnExit
from .process import WorkerSpec

# A run was placed (Ray: the cluster found room for it): where, in a person's words.
OnPlaced = Callable[[str, str], None]


class RunHandle(Protocol):
    """The server's side of one run's engine, wherever it runs."""

    run_id: str

    def start(self) -> None: ...

    def send(self, msg: Control) -> bool: ...

    def alive(self) -> bool: ...

    def kill(self) -> None: ...

    def wait(self, timeout: float | None = None) -> bool: ...

    def take_backlog(self) -> list[Control]: ...

    @property
    def started(self) -> bool: ...

    @property
    def pid(self) -> int | None: ...


class Executor(Protocol):
    name: str
    # True: a run's handle starts its engine at once (its run is `preparing` from launch);
    # False: the run stays `queued` until `on_placed` says the engine found a place.
    places_at_once: bool
    # True: on a server shutdown the engines keep running, and the next server re-attaches.
    detaches: bool

    def pool_size(self, max_active_runs: int) -> int:
        """How many runs the server hands to the executor at once."""
        ...

    def capacity(self, max_active_runs: int) -> int:
        """How many runs can train at once (health, the page's top bar)."""
        ...

    def handle(
        self, spec: WorkerSpec, on_events: OnEvents, on_exit: OnExit, on_placed: OnPlaced
    ) -> RunHandle: ...

    def reattach(
        self,
        spec: WorkerSpec,
        after: int,
        on_events: OnEvents,
        on_exit: OnExit,
        on_placed: OnPlaced,
    ) -> RunHandle | None:
        """A handle on a run's engine left running by an earlier server, streaming its
        events after seq `after`; None when no such engine is alive."""
        ...

    def waiting_note(self) -> str:
        """What a launched run that is not placed yet is waiting for."""
        ...

    def close(self) -> None: ...
