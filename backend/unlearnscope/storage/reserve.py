"""Room kept back for the end of runs: a file of RESERVE_BYTES next to the SQLite
database, given back to the file system when the disk fills, so that the final status of
a run (and why it ended) can still be written; made again once there is room.

Only where the server writes the database file itself (SQLite): a PostgreSQL server
keeps its own disk.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

log = logging.getLogger(__name__)

RESERVE_BYTES = 4 * 1024 * 1024  # a few final events and the pages they touch, with room
RESERVE_NAME = ".unlearnscope-reserve"


class SpaceReserve:
    def __init__(self, folder: Path, size: int = RESERVE_BYTES) -> None:
        self.path = folder / RESERVE_NAME
        self.size = size

    def held(self) -> bool:
        try:
            return self.path.stat().st_size >= self.size
        except OSError:
            return False

    def make(self) -> bool:
        """Hold the room (blocks really allocated, not a sparse file); False when there
        is not enough of it (nothing is left behind then)."""
        if self.held():
            return True
        try:
            with open(self.path, "wb") as f:
                if hasattr(os, "posix_fallocate"):
                    os.posix_fallocate(f.fileno(), 0, self.size)
                else:  # pragma: no cover - macOS, Windows
                    f.write(b"\0" * self.size)
                f.flush()
                os.fsync(f.fileno())
        except OSError as err:
            try:
                self.path.unlink(missing_ok=True)
            except OSError:
                pass
            log.debug("no room for the space reserve %s: %s", self.path, err)
            return False
        return True

    def release(self) -> bool:
        """Give the room back to the file system; whether there was any to give."""
        held = self.held()
        try:
            self.path.unlink()
        except OSError:
            return False
        if held:
            log.warning("disk full: released the %d MiB kept for final statuses", self.size >> 20)
        return held
