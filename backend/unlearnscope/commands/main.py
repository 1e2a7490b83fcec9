"""`unlearnscope COMMAND`: one module per command in this package, each owning its
arguments (`add_arguments`) and its body (`run`). A command's module is imported only when
it is the one asked for (or for `--help`), so `run` refuses a bad config and `presets`
answers in about a second: the heavy commands import torch at once.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from .inputs import EXIT_BAD_INPUT, BadInput

EXIT_SCHEMA = 3  # the database's schema is newer than this release (storage/schema.py)

# name -> (its module in this package, one line of help)
COMMANDS: dict[str, tuple[str, str]] = {
    "run": ("run", "attack, then unlearn, headless, with a final table"),
    "sweep": ("sweep", "a grid of runs from one base config, one after another, with a table"),
    "serve": ("serve", "start the dashboard server (API + page)"),
    "reproduce": (
        "reproduce",
        "the paper's CIFAR-10 protocol per seed: clean, backdoored, unlearned",
    ),
    "bench": ("bench", "measure Grad-CAM, monitoring overhead, streaming fan-out and memory"),
    "report": ("report", "a stored run as one HTML file, and a heatmap clip"),
    "presets": ("presets", "list presets, or --show NAME as JSON"),
    "backup": ("backup", "a consistent copy of a home (database and artifacts), server running"),
}


def make_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The whole parser; given `command`, only that command's module is imported (the
    others are listed with their help)."""
    parser = argparse.ArgumentParser(
        prog="unlearnscope", description="Live backdoor-unlearning monitoring."
    )
    sub = parser.add_subparsers(dest="command", required=True)
    for name, (module_name, help_text) in COMMANDS.items():
        sub_parser = sub.add_parser(name, help=help_text)
        if command is None or command == name:
            module = importlib.import_module(f"{__package__}.{module_name}")
            module.add_arguments(sub_parser)
            sub_parser.set_defaults(func=module.run)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    # The command is the first word that is not an option (no top-level option takes a
    # value); with none, argparse prints the usage.
    command = next((a for a in argv if not a.startswith("-")), None)
    args = make_parser(command).parse_args(argv)
    if args.command == "run" and not args.preset and not args.config:
        args.preset = "demo"
    try:
        code: int = args.func(args)
        return code
    except BadInput as err:
        print(f"unlearnscope: error: {err}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except Exception as err:
        from ..storage.schema import SchemaRefused  # only now: commands start fast

        if not isinstance(err, SchemaRefused):
            raise
        print(f"unlearnscope: error: {err}", file=sys.stderr)
        return EXIT_SCHEMA


if __name__ == "__main__":
    raise SystemExit(main())
