"""A wheel carries everything the package reads at run time, and serves the page from a
fresh environment (not from the checkout)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import sysconfig
import time
import urllib.request
import zipfile
from pathlib import Path

import pytest
import tomllib

from unlearnscope.api.server_thread import free_port

REPO = Path(__file__).resolve().parents[1]
PACKAGE = REPO / "backend" / "unlearnscope"


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    # Built from a copy: a build/ folder left in the checkout would hide a missing file.
    src = tmp_path_factory.mktemp("src")
    ignore = shutil.ignore_patterns("__pycache__", "*.egg-info", "build", "dist")
    for name in ("backend", "frontend"):
        shutil.copytree(REPO / name, src / name, symlinks=True, ignore=ignore)
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(REPO / name, src / name)
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation",
         "-w", str(out), str(src)],
        check=True, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    (found,) = out.glob("unlearnscope-*.whl")
    return found


def test_the_wheel_holds_every_file_the_package_reads(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    wanted = {
        "unlearnscope/" + (Path(folder) / f).relative_to(PACKAGE).as_posix()
        for folder, _, files in os.walk(PACKAGE, followlinks=True)  # the frontend link too
        if "__pycache__" not in folder
        for f in files
        if not f.endswith(".pyc")
    }
    assert "unlearnscope/frontend/index.html" in wanted
    assert "unlearnscope/report/template.html" in wanted
    assert sorted(wanted - names) == []


def test_a_fresh_environment_serves_the_page(wheel: Path, tmp_path: Path) -> None:
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    where = "import sysconfig; print(sysconfig.get_paths()['purelib'])"
    python = str(venv / "bin" / "python")
    site = Path(subprocess.check_output([python, "-c", where], text=True).strip())
    # The wheel goes into the fresh environment; its dependencies (torch, fastapi, ...)
    # come from this one through a .pth placed after it, so nothing is downloaded.
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", str(site),
         str(wheel)],
        check=True, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    deps = sysconfig.get_paths()["purelib"]
    (site / "zz_deps.pth").write_text(deps + "\n")
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env.update(UNLEARNSCOPE_HOME=str(tmp_path / "home"), UNLEARNSCOPE_PORT=str(port))
    code = (
        "import sys, unlearnscope; assert unlearnscope.__file__.startswith(sys.argv[1]), "
        "unlearnscope.__file__; from unlearnscope.commands.main import main; "
        f"sys.exit(main(['serve', '--port', '{port}']))"
    )
    server = subprocess.Popen(
        [python, "-c", code, str(site)],
        cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    try:
        page = ""
        for _ in range(120):
            if server.poll() is not None:
                break
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2) as r:
                    page = r.read().decode()
                break
            except OSError:
                time.sleep(0.5)
        assert server.poll() is None, server.stdout.read() if server.stdout else ""
        assert "<title>" in page and "js/main.js" in page
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/js/main.js", timeout=5) as r:
            assert r.status == 200
    finally:
        server.terminate()
        server.wait(20)


# The test extra's packages by the module they install; the extra's other entries install
# nothing the package could import (type stubs, our own extras).
TEST_ONLY_MODULES = {
    "pytest": "pytest",
    "grad-cam": "pytorch_grad_cam",
    "playwright": "playwright",
    "schemathesis": "schemathesis",
    "ruff": "ruff",
    "mypy": "mypy",
}
NOTHING_TO_IMPORT = {"types-PyYAML", "unlearnscope"}


def test_the_commands_and_the_app_load_without_the_test_tools() -> None:
    # `bash scripts/demo.sh` installs the package without its test extra: no command, the
    # app or the engine may import what only that extra brings (the demo once failed on
    # an `import httpx` that only the tests had installed).
    extra = tomllib.loads((REPO / "pyproject.toml").read_text())["project"][
        "optional-dependencies"
    ]["test"]
    names = {re.split(r"[<>=!~\[; ]", dep, maxsplit=1)[0] for dep in extra}
    assert names <= TEST_ONLY_MODULES.keys() | NOTHING_TO_IMPORT, "classify the new test tool"
    blocked = sorted(TEST_ONLY_MODULES[n] for n in names if n in TEST_ONLY_MODULES)
    code = (
        "import sys\n"
        "for name in sys.argv[1:]: sys.modules[name] = None  # import fails\n"
        "from unlearnscope.commands.main import make_parser\n"
        "make_parser()  # every command's module\n"
        "import unlearnscope.api.app, unlearnscope.ml.engine, unlearnscope.worker.process\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, *blocked], capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr[-2000:]
