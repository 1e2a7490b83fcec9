"""Why a server's home cannot be written, in words: a full disk, a read-only file system,
no permission, or another error; and the one line the server says about it at start-up.
"""

from __future__ import annotations

import errno
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from .db import is_disk_full

FULL_BELOW = 1024 * 1024  # bytes: less free room than this at start-up is a full disk


@dataclass(frozen=True)
class HomeProblem:
    cause: str  # "disk full" | "read-only file system" | "no permission" | "error"
    detail: str  # what was seen, e.g. "0 KiB free on /srv/home"

    @property
    def disk_full(self) -> bool:
        return self.cause == "disk full"

    def fix(self) -> str:
        if self.disk_full:
            return "free some space on that disk, then restart the server"
        if self.cause == "read-only file system":
            return (
                "remount it writable (or copy the home to a writable disk with "
                "`unlearnscope backup`), then restart the server"
            )
        if self.cause == "no permission":
            return "let this user write the folder, then restart the server"
        return "see the server log, then restart the server"


def free_bytes(folder: Path) -> int | None:
    try:
        return shutil.disk_usage(folder).free
    except OSError:
        return None


def classify(folder: Path, err: BaseException | None) -> HomeProblem | None:
    """The problem with writing in `folder`, from the error a write raised (or None, when
    the writes worked: then only a disk with less than FULL_BELOW free is one)."""
    free = free_bytes(folder)
    room = f"{free // 1024} KiB free on {folder}" if free is not None else f"on {folder}"
    read_only = False
    try:
        read_only = bool(os.statvfs(folder).f_flag & os.ST_RDONLY)
    except OSError:
        pass
    code = _errno(err)
    if read_only or code == errno.EROFS:
        return HomeProblem("read-only file system", f"{folder} is on a read-only file system")
    if (err is not None and is_disk_full(err)) or (free is not None and free < FULL_BELOW):
        return HomeProblem("disk full", room)
    if code in (errno.EACCES, errno.EPERM):
        return HomeProblem("no permission", f"this user may not write in {folder}")
    if err is not None:
        return HomeProblem("error", f"{type(err).__name__}: {_first_line(err)}")
    return None


def write_check(folder: Path) -> OSError | None:
    """None when a file with a little in it can be written in `folder`, else the error."""
    try:
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".write-check-") as f:
            f.write(b"\0" * 4096)
            f.flush()
            os.fsync(f.fileno())
    except OSError as err:
        return err
    return None


def _errno(err: BaseException | None) -> int | None:
    seen = err
    while seen is not None:
        if isinstance(seen, OSError) and seen.errno is not None:
            return seen.errno
        text = str(seen).lower()
        if "readonly" in text or "read-only" in text:
            return errno.EROFS
        seen = getattr(seen, "orig", None) or seen.__cause__
    return None


def _first_line(err: BaseException) -> str:
    orig = getattr(err, "orig", None)
    return str(orig if orig is not None else err).split("\n", 1)[0][:200]
