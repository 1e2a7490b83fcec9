"""`unlearnscope serve`: settings from flags and environment, then uvicorn."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from ..settings import Settings

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


def serve(args: argparse.Namespace) -> int:
    import uvicorn

    from .app import create_app

    settings = settings_from_args(args)
    shown = "127.0.0.1" if settings.host in ("0.0.0.0", "::") else settings.host
    if ":" in shown:
        shown = f"[{shown}]"
    print(f"UnlearnScope on http://{shown}:{settings.port}/  (API docs: /docs)", flush=True)
    print(f"  database {settings.db_url}", flush=True)
    print(f"  artifacts {settings.artifacts_dir}", flush=True)
    if settings.host not in ("127.0.0.1", "localhost", "::1"):
        print(f"  listening on {settings.host}: reachable from other machines", file=sys.stderr)
    uvicorn.run(
        create_app(settings),
        host=settings.host,
        port=settings.port,
        log_level="info",
        **UVICORN_OPTIONS,
    )
    return 0
