"""The last good data per profile and side, so a source that is down is shown stale, not
empty. One row per (profile, side) holding the canonical views, problems, master data and
raw payloads as JSON, with the time they were fetched and the incremental cursor.
"""

from __future__ import annotations

import json
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import sqlite_utils
from pydantic import TypeAdapter

from ..connectors.base import ErpBatch, PlatformBatch
from ..domain.model import ErpView, PayloadProblem, PlatformView
from ..domain.reference import ErpMaster

_VIEWS = TypeAdapter(list[PlatformView])
_ERP_VIEWS = TypeAdapter(dict[str, ErpView])
_PROBLEMS = TypeAdapter(dict[str, list[PayloadProblem]])


def _json(value: Any) -> str:
    return json.dumps(value, default=_default, separators=(",", ":"))


def _default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(f"cannot store {type(value).__name__}")


class Cache:
    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.db = sqlite_utils.Database(path)
        self.db.enable_wal()
        self.db["sources"].create(
            {"profile": str, "side": str, "system": str, "fetched_at": str, "cursor": str,
             "data": str},
            pk=("profile", "side"), if_not_exists=True,
        )

    def close(self) -> None:
        self.db.conn.close()

    def _put(self, profile: str, side: str, system: str, fetched_at: datetime | None,
             cursor: str | None, data: dict[str, Any]) -> None:
        self.db["sources"].upsert(
            {"profile": profile, "side": side, "system": system,
             "fetched_at": fetched_at.isoformat() if fetched_at else None,
             "cursor": cursor, "data": _json(data)},
            pk=("profile", "side"),
        )

    def _get(self, profile: str, side: str) -> dict[str, Any] | None:
        rows = list(self.db["sources"].rows_where("profile = ? and side = ?", [profile, side]))
        return rows[0] if rows else None

    def save_platform(self, profile: str, system: str, batch: PlatformBatch) -> None:
        self._put(profile, "platform", system, batch.fetched_at, batch.cursor, {
            "views": _VIEWS.dump_python(batch.views, mode="json"),
            "problems": _PROBLEMS.dump_python(batch.problems, mode="json"),
            "raw": batch.raw,
        })

    def load_platform(self, profile: str) -> PlatformBatch | None:
        row = self._get(profile, "platform")
        if row is None:
            return None
        data = json.loads(row["data"])
        return PlatformBatch(
            views=_VIEWS.validate_python(data["views"]),
            problems=_PROBLEMS.validate_python(data["problems"]),
            raw=data["raw"], fetched_at=_when(row["fetched_at"]), cursor=row["cursor"],
        )

    def save_erp(self, profile: str, system: str, batch: ErpBatch) -> None:
        self._put(profile, "erp", system, batch.fetched_at, batch.cursor, {
            "views": _ERP_VIEWS.dump_python(batch.views, mode="json"),
            "master": batch.master.model_dump(mode="json"),
            "problems": _PROBLEMS.dump_python(batch.problems, mode="json"),
            "raw": batch.raw,
            "notices": batch.notices,
        })

    def load_erp(self, profile: str) -> ErpBatch | None:
        row = self._get(profile, "erp")
        if row is None:
            return None
        data = json.loads(row["data"])
        return ErpBatch(
            views=_ERP_VIEWS.validate_python(data["views"]),
            master=ErpMaster.model_validate(data["master"]),
            problems=_PROBLEMS.validate_python(data["problems"]),
            raw=data["raw"], fetched_at=_when(row["fetched_at"]), cursor=row["cursor"],
            notices=data.get("notices", []),
        )

    def cursor(self, profile: str, side: str) -> str | None:
        row = self._get(profile, side)
        return row["cursor"] if row else None


def _when(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None
