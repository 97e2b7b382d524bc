"""What the console remembers between runs, per session: the last view (owner team, filter,
sort). A small JSON file in the data dir; a broken or missing one is an empty memory."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

FILE_NAME = "console-state.json"


def load_view(path: Path, session: str) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    view = data.get(session) if isinstance(data, dict) else None
    return view if isinstance(view, dict) else {}


def save_view(path: Path, session: str, view: dict[str, Any]) -> None:
    """Best effort, written whole through a temporary file: a crash never leaves half a file."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(data, dict):
            data = {}
    except (OSError, ValueError):
        data = {}
    data[session] = view
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(data, indent=2, sort_keys=True), encoding="utf-8")
        os.replace(tmp, path)
    except OSError:
        pass
