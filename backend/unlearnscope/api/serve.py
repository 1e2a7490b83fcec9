"""`unlearnscope serve`: settings from flags and environment, then uvicorn."""

from __future__ import annotations

import argparse
import socket
import sys
from typing import Any

from ..settings import Settings
from .auth import LOOPBACK_HOSTS

# uvicorn's options for `serve` (the bench's server uses the same). No per-message
# deflate: uvicorn would compress every message once per client, so N dashboards cost N
# compressions of each heatmap frame and the fan-out, not the engine, set the pace
# (`unlearnscope bench --only streaming`; README, Performance). Frames are small.
UVICORN_OPTIONS: dict[str, Any] = {"ws_per_message_deflate": False}

FLAG_TO_SETTING = {
    "host": "host",
    "port": "port",
    "data_dir": "data_dir",
    "db": "db",
    "home": "home",
    "device": "device",
    "preset": "demo_preset",
}


def settings_from_args(args: argparse.Namespace) -> Settings:
    """Environment (UNLEARNSCOPE_*) first, flags given on the command line win."""
    overrides: dict[str, Any] = {
        setting: getattr(args, flag)
        for flag, setting in FLAG_TO_SETTING.items()
        if getattr(args, flag, None) is not None
    }
    return Settings(**overrides)


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


def serve(args: argparse.Namespace) -> int:
    import uvicorn

    from .app import create_app

    settings = settings_from_args(args)
    app = create_app(settings)  # sets settings.token when one is required and not given
    urls = page_urls(settings)
    print(f"UnlearnScope on {urls[0]}  (API docs: /docs)", flush=True)
    for url in urls[1:]:
        print(f"  or {url}", flush=True)
    print(f"  database {settings.db_url}", flush=True)
    print(f"  artifacts {settings.artifacts_dir}", flush=True)
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
