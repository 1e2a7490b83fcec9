"""Each defence's section of docs/defences.md lives in its folder (ml/kinds/<name>/doc.md):
the page is the one `python -m unlearnscope.kind_docs` makes from them."""

from __future__ import annotations

from pathlib import Path

from unlearnscope import kind_docs
from unlearnscope.ml.kinds.registry import PHASE_KINDS

DOC = Path(__file__).resolve().parents[2] / "docs" / "defences.md"


def test_the_defences_page_is_made_from_the_kinds_folders() -> None:
    text = DOC.read_text()
    assert kind_docs.replace_in(text) == text, (
        "docs/defences.md is out of date: python -m unlearnscope.kind_docs --write docs/defences.md"
    )


def test_every_published_defence_has_its_section() -> None:
    sections = kind_docs.kind_sections()
    for kind in ("nad", "sam", "ibau", "anp", "fineprune", "nc", "relearn"):
        assert kind in PHASE_KINDS
        assert f"## `{kind}`" in sections, f"ml/kinds/{kind}/doc.md is missing"
