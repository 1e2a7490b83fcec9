"""Shared test fixtures."""

from __future__ import annotations

import os
import shutil
import tarfile
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

# Loopback only: Ray otherwise names every node, and resolves 127.0.0.1 in an address, by
# the machine's interface address, so test traffic would leave loopback. Ray's own switch
# for a single-machine cluster (read when ray is first imported; before any test does).
os.environ["RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"] = "0"

from unlearnscope.ml.datasets import CIFAR10_CLASSES

CIFAR_ARCHIVE = "cifar10-jpg.tar.gz"
CIFAR_CLASSES = list(CIFAR10_CLASSES)
SLICE_PER_CLASS = {"train": 20, "test": 10}  # images per class in the CIFAR-10 slice


def shared_data_dir() -> Path:
    """../shared/data next to the repository root, or $UNLEARNSCOPE_SHARED_DATA."""
    env = os.environ.get("UNLEARNSCOPE_SHARED_DATA")
    return Path(env) if env else Path(__file__).resolve().parents[2] / "shared" / "data"


def _slice_archive(archive: Path, dest: Path, per_class: dict[str, int]) -> None:
    """Copy the first `per_class[split]` images of each class out of the archive.

    Streams the tar once and writes only the selected members (to paths built here, never
    from the member name as given), stopping as soon as every class has its quota.
    """
    taken: Counter[tuple[str, str]] = Counter()
    quota = sum(per_class.values()) * len(CIFAR_CLASSES)
    with tarfile.open(archive, "r|gz") as tar:
        for member in tar:
            parts = Path(member.name).parts
            if not member.isfile() or len(parts) != 3 or parts[0] not in per_class:
                continue
            split, cls, name = parts
            if taken[split, cls] >= per_class[split] or not name.endswith(".jpg"):
                continue
            src = tar.extractfile(member)
            assert src is not None
            target = dest / split / cls / name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(src.read())
            taken[split, cls] += 1
            if sum(taken.values()) == quota:
                break


@pytest.fixture(scope="session")
def cifar_slice_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small real CIFAR-10 slice in ImageFolder layout: DIR/{train,test}/<class>/*.jpg.

    20 training and 10 test images per class, taken from ../shared/data/cifar10-jpg.tar.gz.
    """
    archive = shared_data_dir() / CIFAR_ARCHIVE
    if not archive.is_file():
        pytest.skip(
            f"real CIFAR-10 archive not found at {archive}: put {CIFAR_ARCHIVE} in "
            "../shared/data next to the repository or set UNLEARNSCOPE_SHARED_DATA"
        )
    dest = tmp_path_factory.mktemp("cifar10_slice")
    _slice_archive(archive, dest, SLICE_PER_CLASS)
    return dest


@pytest.fixture(scope="session")
def model_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One backdoored-model cache for the whole session, so the tiny model trains once."""
    return tmp_path_factory.mktemp("model-cache")


CHROMIUM = "/usr/bin/chromium"  # Debian's chromium (scripts/test.sh installs it)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """The system Chromium under Playwright, headless (browser and report tests)."""
    if not Path(CHROMIUM).exists() and not shutil.which("chromium"):
        pytest.skip(f"no system Chromium at {CHROMIUM}: `apt-get install chromium` (test.sh does)")
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=["--no-sandbox", "--disable-background-networking", "--disable-gpu"],
        )
        try:
            yield b
        finally:
            b.close()


# -- PostgreSQL and Ray (issue 17): one throwaway server / one local cluster per session --
@pytest.fixture(scope="session")
def pg_server() -> Iterator[Any]:
    """A throwaway PostgreSQL (tests/pg_server.py); CI=true fails where it cannot start."""
    from pg_server import PgServer

    try:
        server = PgServer().start()
    except Exception as err:
        if os.environ.get("CI") == "true":
            pytest.fail(f"PostgreSQL could not start for the tests (CI=true): {err}")
        pytest.skip(f"PostgreSQL could not start: {err}")
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty database: a SQLite file, then a fresh database on the throwaway PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'x.db'}"
    return str(request.getfixturevalue("pg_server").database())


@pytest.fixture(scope="session")
def ray_cluster() -> Iterator[Any]:
    """A real two-node Ray cluster on this machine (tests/ray_cluster.py), shared by the
    Ray tests; CI=true fails where Ray is missing."""
    from ray_cluster import LocalRayCluster

    try:
        cluster = LocalRayCluster().start()
    except Exception as err:
        if os.environ.get("CI") == "true":
            pytest.fail(f"Ray could not start for the tests (CI=true): {err}")
        pytest.skip(f"Ray could not start: {err}")
    try:
        yield cluster
    finally:
        cluster.stop()
