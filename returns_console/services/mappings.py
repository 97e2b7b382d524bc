"""Mapping tables per profile (SKU → item, and codes), kept as JSON in the data dir until
the operator actions give them their audited home in the local store."""

from __future__ import annotations

import json
from pathlib import Path

from pydantic import ValidationError

from ..domain.reference import Mappings
from ..errors import UserError
from ..locations import resolve
from ..messages import describe_validation


def mappings_path(obj: dict, profile: str) -> Path:
    return resolve(obj.get("config_path")).data_dir / "mappings" / f"{profile}.json"


def load_mappings(obj: dict, profile: str) -> Mappings:
    """The profile's mappings; none yet means every SKU and code is tried as the ERP's own."""
    path = mappings_path(obj, profile)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return Mappings()
    except OSError as exc:
        raise UserError(f"cannot read {path}: {exc.strerror or exc}") from None
    try:
        return Mappings.model_validate(json.loads(text))
    except json.JSONDecodeError as exc:
        raise UserError(f"{path} is not valid JSON: {exc.msg} at line {exc.lineno}") from None
    except ValidationError as exc:
        raise UserError(f"{path} is not a valid mapping file: "
                        f"{describe_validation(exc)}") from None


def save_mappings(obj: dict, profile: str, mappings: Mappings) -> Path:
    path = mappings_path(obj, profile)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(mappings.model_dump_json(indent=1), encoding="utf-8")
        tmp.replace(path)
    except OSError as exc:
        raise UserError(f"cannot write {path}: {exc.strerror or exc}") from None
    return path
