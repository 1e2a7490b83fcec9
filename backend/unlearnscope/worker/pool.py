"""A line of runs in front of a fixed number of worker slots (one device, a few runs).

The pool decides only *which* run starts *when*; starting one is the `launch` callback's
job. Thread-safe: runs finish on their reader threads and are submitted from requests.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable


class RunPool:
    def __init__(self, max_active: int, launch: Callable[[str], None]) -> None:
        if max_active < 1:
            raise ValueError(f"max_active must be at least 1, got {max_active}")
        self.max_active = max_active
        self._launch = launch
        self._lock = threading.Lock()
        self._waiting: deque[str] = deque()
        self._active: set[str] = set()
        self._closed = False

    def submit(self, run_id: str) -> int | None:
        """Queue `run_id`; start it when a slot is free. Its place in line (1 = next), or
        None when it started at once."""
        with self._lock:
            if run_id in self._active or run_id in self._waiting:
                raise ValueError(f"run {run_id} is already in the pool")
            self._waiting.append(run_id)
        self._fill()
        return self.position(run_id)

    def cancel(self, run_id: str) -> bool:
        """Take a waiting run out of line; False when it is not waiting (running or gone)."""
        with self._lock:
            if run_id in self._waiting:
                self._waiting.remove(run_id)
                return True
            return False

    def release(self, run_id: str) -> None:
        """A run's worker is done: free its slot and start the next run in line."""
        with self._lock:
            self._active.discard(run_id)
        self._fill()

    def adopt(self, run_id: str) -> None:
        """Count a run whose engine runs already (re-attached after a server restart)."""
        with self._lock:
            self._active.add(run_id)

    def close(self) -> None:
        """Start nothing more (server shutdown)."""
        with self._lock:
            self._closed = True
            self._waiting.clear()

    def position(self, run_id: str) -> int | None:
        with self._lock:
            try:
                return self._waiting.index(run_id) + 1
            except ValueError:
                return None

    def positions(self) -> dict[str, int]:
        with self._lock:
            return {run_id: i + 1 for i, run_id in enumerate(self._waiting)}

    def is_active(self, run_id: str) -> bool:
        with self._lock:
            return run_id in self._active

    @property
    def active(self) -> list[str]:
        with self._lock:
            return sorted(self._active)

    def _fill(self) -> None:
        while True:
            with self._lock:
                if self._closed or not self._waiting or len(self._active) >= self.max_active:
                    return
                run_id = self._waiting.popleft()
                self._active.add(run_id)
            try:
                self._launch(run_id)
            except Exception:
                # The launcher reports its own failure (the run is marked failed); the
                # slot must not stay taken.
                with self._lock:
                    self._active.discard(run_id)
