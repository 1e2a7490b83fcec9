"""A generated part of a Markdown page: the text between two markers, made anew by a
function, and the small command that prints it or writes it into the page. Used by
settings_table.py (docs/settings.md) and kind_docs.py (docs/defences.md)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path


def replace_between(text: str, start: str, end: str, body: str) -> str:
    """`text` with the part between the markers `start` and `end` replaced by `body`."""
    head, rest = text.split(start, 1)
    _, tail = rest.split(end, 1)
    return f"{head}{start}\n{body}{end}{tail}"


def command(
    description: str, make: Callable[[], str], start: str, end: str, argv: list[str] | None
) -> int:
    """Print what `make` makes, or with --write FILE put it between the markers there."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--write", type=Path, help="a Markdown file with the markers")
    args = parser.parse_args(argv)
    if args.write:
        args.write.write_text(replace_between(args.write.read_text(), start, end, make()))
    else:
        sys.stdout.write(make())
    return 0
