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


def test_setup_help_lists_every_built_systems_options_and_secrets() -> None:
    """`setup --help` is generated from the registry: each system's options (required ones
    marked), its secrets, and the systems not built yet."""
    from click.testing import CliRunner

    from returns_console import systems
    from returns_console.cli import cli

    shown = CliRunner().invoke(cli, ["setup", "--help"], terminal_width=200).output
    for spec in systems.all_systems():
        assert spec.name in shown
        if spec.built:
            for name, default, _ in spec.option_help():
                assert name in shown
                if not default:
                    assert f"{name}" in shown and "[required]" in shown
            assert "secrets (--secret NAME): " + ", ".join(spec.secrets) in shown
