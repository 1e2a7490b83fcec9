"""`unlearnscope presets [--show NAME]`: the presets, one line each, or one as JSON."""

from __future__ import annotations

import argparse

from ..presets import PRESETS
from .inputs import BadInput, config_from


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--show", help="print the full RunConfig of a preset")


def run(args: argparse.Namespace) -> int:
    if args.show:
        if args.show not in PRESETS:
            raise BadInput(f"--show {args.show!r}: allowed values are {sorted(PRESETS)}")
        print(config_from(args.show).model_dump_json(indent=2))
    else:
        for name in PRESETS:
            cfg = config_from(name)
            kinds = " -> ".join(f"{p.kind}({p.steps})" for p in cfg.schedule)
            print(f"{name:8s} {cfg.data.name:12s} {cfg.model.name:10s} {kinds}")
    return 0
