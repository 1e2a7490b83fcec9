"""Uploaded model files and data folders, stored by content under the server's data root.

Each upload lands in `uploads/<first 16 hex digits of its sha256>/`: a file under its own
(sanitised) name, a `.zip` archive unpacked there (a data folder, or a BackdoorBench record
folder with its `attack_result.pt` and PNG folders). The same bytes uploaded twice are
stored once; the second upload answers with the first one's paths (`reused`).

An archive is unpacked only if every entry is a plain file or folder with a relative
path that stays inside (no absolute paths, no `..`, no links), the entries number at most
`max_archive_files` and their sizes, as declared and as actually written, add up to at
most `max_unpacked_bytes` (a zip bomb is stopped while it inflates, not after). A refused
upload leaves nothing behind.

Threads: request threads (the route runs it in the thread pool). Shared state: the
uploads folder; writes go to a private temporary name first, then one rename.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import stat
import uuid
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import BinaryIO

from ...settings import Settings

CHUNK = 1 << 20
SIDECAR = ".upload.json"  # what was uploaded: sha256, size, name, whether a .zip
MODEL_SUFFIXES = (".safetensors", ".pt", ".pth", ".bin", ".ckpt")
_SAFE = re.compile(r"[^A-Za-z0-9._-]+")


class UploadRefused(ValueError):
    """The upload is not stored; `status` is the HTTP status that says why."""

    def __init__(self, message: str, status: int = 422) -> None:
        super().__init__(message)
        self.status = status


@dataclass
class Upload:
    """A stored upload, with paths relative to the data root (as runs give them)."""

    path: str  # the file, or the unpacked folder
    sha256: str
    size: int  # bytes uploaded
    name: str  # the name it was uploaded under
    kind: str  # "file" | "folder"
    reused: bool = False
    model_files: list[str] = field(default_factory=list)  # checkpoints found inside
    data_folders: list[str] = field(default_factory=list)  # folders with train/ and test/


def safe_name(name: str) -> str:
    """A file name without folders or odd characters ("my model (2).pt" -> "my_model_2_.pt")."""
    base = PurePosixPath(name.replace("\\", "/")).name
    cleaned = _SAFE.sub("_", base).strip("._") or "upload"
    return cleaned[:120]


class Uploads:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    @property
    def root(self) -> Path:
        return self.settings.uploads_dir

    def relative(self, path: Path) -> str:
        return path.relative_to(self.settings.data_root).as_posix()

    def store(self, name: str, source: BinaryIO) -> Upload:
        """Copy `source` in while hashing it; unpack a .zip. UploadRefused when refused."""
        if not name:
            raise UploadRefused("the upload has no file name")
        self.root.mkdir(parents=True, exist_ok=True)
        incoming = self.root / f".incoming-{uuid.uuid4().hex}"
        digest = hashlib.sha256()
        size = 0
        limit = self.settings.max_upload_bytes
        try:
            with incoming.open("wb") as out:
                while chunk := source.read(CHUNK):
                    size += len(chunk)
                    if size > limit:
                        raise UploadRefused(
                            f"the upload is larger than this server takes ({limit} bytes; "
                            "UNLEARNSCOPE_MAX_UPLOAD_BYTES)",
                            status=413,
                        )
                    digest.update(chunk)
                    out.write(chunk)
            if size == 0:
                raise UploadRefused(f"{name!r} is empty")
            sha = digest.hexdigest()
            folder = self.root / sha[:16]
            is_zip = name.lower().endswith(".zip")
            if folder.exists():
                return self._describe(folder, name, sha, size, is_zip, reused=True)
            staging = self.root / f".staging-{uuid.uuid4().hex}"
            staging.mkdir()
            try:
                if is_zip:
                    self._unpack(incoming, staging)
                else:
                    os.replace(incoming, staging / safe_name(name))
                record = {"sha256": sha, "size": size, "name": name, "zip": is_zip}
                (staging / SIDECAR).write_text(json.dumps(record))
                os.replace(staging, folder)
            finally:
                shutil.rmtree(staging, ignore_errors=True)
            return self._describe(folder, name, sha, size, is_zip, reused=False)
        finally:
            incoming.unlink(missing_ok=True)

    def _describe(
        self, folder: Path, name: str, sha: str, size: int, is_zip: bool, reused: bool
    ) -> Upload:
        if is_zip:
            models = sorted(
                p for p in folder.rglob("*") if p.is_file() and p.suffix.lower() in MODEL_SUFFIXES
            )
            data = sorted(
                p
                for p in [folder, *folder.rglob("*")]
                if p.is_dir() and (p / "train").is_dir() and (p / "test").is_dir()
            )
            return Upload(
                path=self.relative(folder),
                sha256=sha,
                size=size,
                name=name,
                kind="folder",
                reused=reused,
                model_files=[self.relative(p) for p in models[:50]],
                data_folders=[self.relative(p) for p in data[:50]],
            )
        files = [p for p in folder.iterdir() if p.is_file() and p.name != SIDECAR]
        target = files[0] if files else folder / safe_name(name)
        return Upload(
            path=self.relative(target),
            sha256=sha,
            size=size,
            name=name,
            kind="file",
            reused=reused,
            model_files=[self.relative(target)] if target.suffix in MODEL_SUFFIXES else [],
        )

    def _unpack(self, archive: Path, into: Path) -> None:
        s = self.settings
        try:
            zf = zipfile.ZipFile(archive)
        except zipfile.BadZipFile as err:
            raise UploadRefused(f"not a valid .zip archive ({err})") from None
        with zf:
            infos = zf.infolist()
            if len(infos) > s.max_archive_files:
                raise UploadRefused(
                    f"the archive holds {len(infos)} entries; this server unpacks at most "
                    f"{s.max_archive_files} (UNLEARNSCOPE_MAX_ARCHIVE_FILES)",
                    status=413,
                )
            declared = sum(i.file_size for i in infos)
            if declared > s.max_unpacked_bytes:
                raise UploadRefused(
                    f"the archive unpacks to {declared} bytes; this server unpacks at most "
                    f"{s.max_unpacked_bytes} (UNLEARNSCOPE_MAX_UNPACKED_BYTES)",
                    status=413,
                )
            try:
                self._extract(zf, infos, into)
            except (zipfile.BadZipFile, EOFError, zlib.error) as err:
                raise UploadRefused(f"the archive is damaged ({err}); nothing was kept") from None

    def _extract(self, zf: zipfile.ZipFile, infos: list[zipfile.ZipInfo], into: Path) -> None:
        """Every entry's path is checked before anything is written; the bytes written
        are counted against the limit while they inflate (zipfile also stops at a lying
        size, with a CRC error)."""
        limit = self.settings.max_unpacked_bytes
        targets = [(info, self._entry_path(info, into)) for info in infos]
        written = 0
        for info, target in targets:
            if target is None:
                continue
            if info.is_dir():
                target.mkdir(parents=True, exist_ok=True)
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            with zf.open(info) as src, target.open("wb") as out:
                while chunk := src.read(CHUNK):
                    written += len(chunk)
                    if written > limit:
                        raise UploadRefused(
                            f"the archive inflates past {limit} bytes: refused as a zip bomb",
                            status=413,
                        )
                    out.write(chunk)

    @staticmethod
    def _entry_path(info: zipfile.ZipInfo, into: Path) -> Path | None:
        """Where an entry goes; None to skip (macOS metadata); UploadRefused if unsafe."""
        name = info.filename.replace("\\", "/")
        parts = PurePosixPath(name).parts
        if name.startswith("/") or ".." in parts or (parts and ":" in parts[0]):
            raise UploadRefused(f"the archive entry {name!r} points outside its folder")
        mode = info.external_attr >> 16
        if stat.S_ISLNK(mode):
            raise UploadRefused(f"the archive entry {name!r} is a link; links are not unpacked")
        if not parts or parts[0] == "__MACOSX" or parts[-1] == ".DS_Store":
            return None
        return into.joinpath(*parts)

    def listing(self) -> list[Upload]:
        """Uploads on the server, newest first."""
        if not self.root.is_dir():
            return []
        out = []
        folders = [p for p in self.root.iterdir() if p.is_dir() and not p.name.startswith(".")]
        for folder in sorted(folders, key=lambda p: p.stat().st_mtime, reverse=True):
            try:
                r = json.loads((folder / SIDECAR).read_text())
                name, sha, size, is_zip = r["name"], r["sha256"], r["size"], r["zip"]
                out.append(self._describe(folder, name, sha, size, is_zip, reused=True))
            except (OSError, ValueError, KeyError):
                continue  # not an upload of this server's (or damaged): not listed
        return out
