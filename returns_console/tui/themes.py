"""The console's themes (themes/*.json), registered through Textual's theme API.

Each theme also carries severity and environment colours as variables, so a finding's
severity and the environment banner (demo, sandbox, production) stay readable in every theme.
"""

from __future__ import annotations

import json
from pathlib import Path

from textual.theme import Theme

DEFAULT = "returns-dark"


def themes_dir() -> Path:
    here = Path(__file__).resolve()
    for candidate in (here.parents[2] / "themes", here.parents[1] / "_themes"):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError("the themes folder is missing from this installation")


def load_themes(folder: Path | None = None) -> list[Theme]:
    """Every theme file in the folder; a broken file is skipped, not fatal."""
    out = []
    for path in sorted((folder or themes_dir()).glob("*.json")):
        try:
            out.append(Theme(**json.loads(path.read_text(encoding="utf-8"))))
        except (OSError, ValueError, TypeError):
            continue
    return out
