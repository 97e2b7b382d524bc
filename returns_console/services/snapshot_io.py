"""Reading and writing canonical snapshots, with errors a person can act on."""

from __future__ import annotations

import json
from pathlib import Path

from pydantic import ValidationError

from ..domain.snapshot import Snapshot
from ..errors import UserError
from ..messages import describe_validation, printable
from ..visible import needs_visible, visible_json


def load_snapshot(path: Path) -> Snapshot:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise UserError(f"cannot read {path}: no such file") from None
    except IsADirectoryError:
        raise UserError(f"cannot read {path}: it is a directory") from None
    except UnicodeDecodeError:
        raise UserError(f"cannot read {path}: not UTF-8 text") from None
    except OSError as exc:
        raise UserError(f"cannot read {path}: {exc.strerror or exc}") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise UserError(
            f"{path} is not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}"
        ) from None
    except RecursionError:
        raise UserError(f"{path} is not a snapshot: its JSON is nested too deeply") from None
    except ValueError as exc:  # e.g. an integer literal longer than Python will convert
        raise UserError(f"{path} is not valid JSON: {printable(exc)}") from None
    # a snapshot is a source like any other: none of its text may drive the terminal
    data = visible_json(data) if needs_visible(text.encode()) else data
    if not isinstance(data, dict):
        raise UserError(f"{path} is not a snapshot: expected a JSON object at the top level")
    try:
        return Snapshot.model_validate(data)
    except ValidationError as exc:
        raise UserError(f"{path} is not a valid snapshot: {describe_validation(exc)}") from None


def dump_snapshot(snapshot: Snapshot) -> str:
    return snapshot.model_dump_json(indent=1, exclude_none=True)
