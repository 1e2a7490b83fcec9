"""Labels, units and hints of the run settings are written once, in config/ (and each
attack's and phase kind's settings model): every field has a title (the form's label), and
the settings table of docs/settings.md is the one `python -m unlearnscope.settings_table`
makes from the schema."""

from __future__ import annotations

from pathlib import Path

from unlearnscope import settings_table
from unlearnscope.config import PhaseConfig, RunConfig

DOC = Path(__file__).resolve().parents[2] / "docs" / "settings.md"


def test_the_settings_page_table_is_made_from_the_schema() -> None:
    text = DOC.read_text()
    assert settings_table.replace_in(text) == text, (
        "docs/settings.md's table is out of date: "
        "python -m unlearnscope.settings_table --write docs/settings.md"
    )


def test_the_table_has_a_row_per_field() -> None:
    table = settings_table.settings_table()
    for section in ("data", "model", "attack", "training", "defense", "monitor"):
        model = RunConfig.model_fields[section].annotation
        for key in model.model_fields:  # type: ignore[union-attr]
            assert f"| `{section}.{key}` |" in table
    for key in PhaseConfig.model_fields:
        assert f"| `schedule[i].{key}` |" in table


def test_every_field_has_a_title() -> None:
    schema = RunConfig.model_json_schema()
    for name, definition in schema["$defs"].items():
        for key, prop in definition.get("properties", {}).items():
            if "$ref" not in prop:
                assert prop.get("title"), f"{name}.{key} has no title (the form's label)"


def test_the_command_prints_the_table(capsys) -> None:  # type: ignore[no-untyped-def]
    assert settings_table.main([]) == 0
    assert capsys.readouterr().out == settings_table.settings_table()
