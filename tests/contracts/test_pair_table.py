"""README's pair table is the registry's, not a hand-kept copy."""

from __future__ import annotations

from pathlib import Path

from returns_console.systems.table import markdown

README = Path(__file__).resolve().parents[2] / "README.md"


def test_readme_pair_table_is_generated_from_the_registry() -> None:
    text = README.read_text(encoding="utf-8")
    start, end = "<!-- pair-table -->\n", "<!-- /pair-table -->"
    assert start in text and end in text
    kept = text.split(start, 1)[1].split(end, 1)[0]
    assert kept == markdown(), "regenerate: python -m returns_console.systems.table"
