"""The per-kind sections of docs/defences.md, made from each kind's folder: every
`ml/kinds/<name>/doc.md` (its paper, its formula, what is simplified), in the registry's
order, between the markers. The section of a defence lives beside its code.

    python -m unlearnscope.kind_docs                                # print the sections
    python -m unlearnscope.kind_docs --write docs/defences.md       # replace them
"""

from __future__ import annotations

from pathlib import Path

from .generated import command, replace_between
from .ml.kinds.registry import PHASE_KINDS

KINDS = Path(__file__).parent / "ml" / "kinds"
START = (
    "<!-- kinds: made by `python -m unlearnscope.kind_docs --write docs/defences.md` "
    "from each ml/kinds/<name>/doc.md -->"
)
END = "<!-- /kinds -->"


def kind_sections() -> str:
    """Every built-in kind's doc.md, in the registry's order, a blank line between."""
    docs = [KINDS / name / "doc.md" for name in PHASE_KINDS]
    return "\n".join(path.read_text() for path in docs if path.exists())


def replace_in(text: str) -> str:
    """`text` with the part between the markers made anew."""
    return replace_between(text, START, END, kind_sections())


def main(argv: list[str] | None = None) -> int:
    return command((__doc__ or "").splitlines()[0], kind_sections, START, END, argv)


if __name__ == "__main__":
    raise SystemExit(main())
