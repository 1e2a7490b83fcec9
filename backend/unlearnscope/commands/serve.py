"""`unlearnscope serve`: settings from flags and environment, then uvicorn."""

from __future__ import annotations

import argparse
import socket
import sys
from pathlib import Path
from typing import Any

from ..api.auth import LOOPBACK_HOSTS
from ..api.server_thread import UVICORN_OPTIONS
from ..settings import Settings
from .inputs import BadInput

FLAG_TO_SETTING = {
    "host": "host",
    "port": "port",
    "data_dir": "data_dir",
    "db": "db",
    "home": "home",
    "device": "device",
    "preset": "demo_preset",
    "executor": "executor",
}


def database_url(value: str, name: str = "--db") -> str:
    """A SQLAlchemy URL from `value`: a URL as it is (checked), or a file path, which
    becomes `sqlite:///` + its absolute path. BadInput (exit 2) naming `name` otherwise."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError, NoSuchModuleError

    if "://" not in value:
        path = Path(value).expanduser().resolve()
        if not value.strip() or path.is_dir():
            raise BadInput(
                f"{name} {value!r}: give a database file (e.g. ~/runs.sqlite) or a "
                "SQLAlchemy URL (e.g. sqlite:////abs/path/runs.db)"
            )
        return f"sqlite:///{path}"
    from ..storage.db import driver_url

    try:
        url = make_url(driver_url(value))
        url.get_dialect().import_dbapi()
    except NoSuchModuleError:  # a kind of ArgumentError: caught first
        raise BadInput(
            f"{name} {value!r}: no database kind {value.split('://', 1)[0]!r} is known; "
            "use sqlite:///PATH (or a file path), or install that database's SQLAlchemy dialect"
        ) from None
    except (ArgumentError, ValueError) as err:
        raise BadInput(
            f"{name} {value!r} is not a SQLAlchemy URL ({err}); give one such as "
            "sqlite:////abs/path/runs.db, or a file path"
        ) from None
    except ImportError as err:
        raise BadInput(
            f"{name} {value!r}: the driver for it is not installed ({err}); install it, or "
            "use sqlite:///PATH (or a file path)"
        ) from None
    return value


def settings_from_args(args: argparse.Namespace) -> Settings:
    """Environment (UNLEARNSCOPE_*) first, flags given on the command line win. The
    database may be given as a file path; a bad one is BadInput (exit 2)."""
    overrides: dict[str, Any] = {
        setting: getattr(args, flag)
        for flag, setting in FLAG_TO_SETTING.items()
        if getattr(args, flag, None) is not None
    }
    if "db" in overrides:
        overrides["db"] = database_url(overrides["db"], "--db")
    settings = Settings(**overrides)
    if "db" not in overrides and settings.db:
        settings.db = database_url(settings.db, "UNLEARNSCOPE_DB")
    return settings


def page_urls(settings: Settings) -> list[str]:
    """The URLs to open, with `?token=` when one is required (as notebook servers do)."""
    query = f"?token={settings.token}" if settings.token else ""
    if settings.host in ("0.0.0.0", "::", ""):
        names = [socket.gethostname(), "127.0.0.1"]
    else:
        names = [settings.host]
    return [
        f"http://{f'[{n}]' if ':' in n else n}:{settings.port}/{query}"
        for n in dict.fromkeys(names)
    ]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", help="bind address (default 127.0.0.1)")
    parser.add_argument("--port", type=int, help="port (default 8000)")
    parser.add_argument("--data-dir", help="data root for cifar10 / imagefolder runs")
    parser.add_argument(
        "--db",
        help="database file path, or SQLAlchemy URL (default sqlite file in ~/.unlearnscope)",
    )
    parser.add_argument("--home", help="folder for the database, artifacts and caches")
    parser.add_argument("--device", help="auto | cpu | cuda | cuda:N (default auto)")
    parser.add_argument("--preset", help="preset the page's form opens with (default demo)")
    parser.add_argument(
        "--executor",
        choices=("local", "ray"),
        help="where runs' engines live: local worker processes (default) or a Ray cluster "
        "(UNLEARNSCOPE_RAY_ADDRESS, default auto; docs/deployment.md)",
    )


def run(args: argparse.Namespace) -> int:
    import uvicorn

    from ..api.app import create_app

    settings = settings_from_args(args)
    app = create_app(settings)  # sets settings.token when one is required and not given
    urls = page_urls(settings)
    print(f"UnlearnScope on {urls[0]}  (API docs: /docs)", flush=True)
    for url in urls[1:]:
        print(f"  or {url}", flush=True)
    print(f"  database {settings.db_url}", flush=True)
    print(f"  artifacts {settings.artifacts_dir}", flush=True)
    if settings.executor == "ray":
        print(
            f"  runs on the Ray cluster at {settings.ray_address} ({settings.ray_num_cpus:g} CPU, "
            f"{settings.ray_num_gpus:g} GPU per run)",
            flush=True,
        )
    if settings.host not in LOOPBACK_HOSTS:
        print(
            f"  listening on {settings.host}: reachable from other machines; the token in "
            "the URL is required (scripts: 'Authorization: Bearer <token>')",
            file=sys.stderr,
        )
    uvicorn.run(
        app,
        host=settings.host,
        port=settings.port,
        log_level="info",
        **UVICORN_OPTIONS,
    )
    return 0
