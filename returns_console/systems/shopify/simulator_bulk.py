"""Shopify's bulk query operations, simulated (docs/vendors/shopify.md §7): an app starts
one with `bulkOperationRunQuery`, polls `bulkOperation(id:)` (or `node(id:)`) until it is
COMPLETED, and downloads the JSON Lines file from its `url`, a signed link to storage that
takes no access token (the token never leaves for another host). One query operation runs
at a time here (§7: one before 2026-01, up to five since; the stricter reading), another is
refused with OPERATION_IN_PROGRESS.

The file is made when the operation starts (the store as it is then); it is COMPLETED
after `polls` polls (a real one takes seconds to hours), and its link lasts a week. With
`groupObjects: false` (2026-01's default) the file holds every top-level node first and
their children after (Shopify no longer promises a child follows its parent).

An operation runs on whether or not anyone polls it: one started by a client that went
away (`start`: an earlier process of the app, killed since) or by another feature of the
app is still running when the next client comes, found with `bulkOperations(query:
"status:…")` (2026-01+) or `currentBulkOperation(type:)` (deprecated in 2026-01, still
served), its `query` the text it was started with.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from ...kits.graphql import bulk
from ...kits.graphql.server import Endpoint

GID = "gid://shopify/BulkOperation/"
#: Where the simulator serves finished files, below its mount (the signed-URL host).
FILES = "/bulk-files/{name}"


@dataclass
class BulkOperations:
    endpoint: Endpoint
    #: Polls an operation takes before it is COMPLETED.
    polls: int = 1
    #: Operations by gid; each a BulkOperation as the schema has it.
    operations: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: File contents by the name in their URL, and the signature each link carries.
    files: dict[str, bytes] = field(default_factory=dict)
    signatures: dict[str, str] = field(default_factory=dict)
    #: The headers each download came with (names, lower case): a test asks whether the
    #: access token went to the storage host.
    downloads: list[set[str]] = field(default_factory=list)
    #: Fail the next operation with this error code (INTERNAL_SERVER_ERROR, TIMEOUT, ...).
    fail_next: str | None = None
    #: The URL files are served under (set per request: scheme, host and mount).
    base: str = ""
    _seen: dict[str, int] = field(default_factory=dict)
    _next: int = 1

    def root(self) -> dict[str, Any]:
        return {"bulkOperationRunQuery": self._run,
                "bulkOperationCancel": self._cancel,
                "bulkOperation": lambda _info, id: self._polled(id),
                "bulkOperations": self._listed,
                "currentBulkOperation": lambda _info, type="QUERY": self._current(type)}

    def start(self, query: str) -> str:
        """An export started by another client (an earlier process of the app, gone since,
        or another feature or tool of the same app): its gid. It runs until polled, as any."""
        answer = self._run(None, query)
        if answer["userErrors"]:
            raise ValueError(answer["userErrors"][0]["message"])
        return str(answer["bulkOperation"]["id"])

    def _listed(self, args: Mapping[str, Any]) -> list[dict[str, Any]]:
        """`bulkOperations` (ref:`queries/bulkOperations`, 2026-01+): the app's operations,
        newest first by `createdAt` (its default; or by `completedAt`), narrowed by the
        search terms `status` and `operation_type` (values lower case in the docs; terms
        ANDed). Its other terms (`created_at`, `id`) are not applied here."""
        key = "completedAt" if args.get("sortKey") == "COMPLETED_AT" else "createdAt"
        found = sorted(self.operations.values(), reverse=True,
                       key=lambda op: (op.get(key) or "", _sequence(op["id"])))
        for name, value in re.findall(r"(?:^|\s)(status|operation_type):(\w+)",
                                      str(args.get("query") or "")):
            column = "status" if name == "status" else "type"
            found = [op for op in found if str(op.get(column)).lower() == value.lower()]
        return found

    def _current(self, kind: str) -> dict[str, Any] | None:
        """`currentBulkOperation(type:)`: the app's most recent operation of that type,
        whatever its status."""
        mine = [op for op in self.operations.values() if op.get("type") == kind]
        return max(mine, key=lambda op: _sequence(op["id"]), default=None)

    def _cancel(self, _info: Any, id: str) -> dict[str, Any]:
        """§7: a running operation is CANCELING, then CANCELED (at once here)."""
        op = self.operations.get(id)
        if op is None:
            return {"bulkOperation": None,
                    "userErrors": [{"field": ["id"], "message": "Bulk operation not found"}]}
        if op["status"] not in ("CREATED", "RUNNING"):
            return {"bulkOperation": op, "userErrors": [{
                "field": ["id"], "message": f"A bulk operation cannot be canceled when it is "
                                            f"{op['status'].lower()}"}]}
        op.update(status="CANCELED", completedAt=_now())
        return {"bulkOperation": op, "userErrors": []}

    def node(self, node_id: str) -> dict[str, Any] | None:
        return self._polled(node_id) if node_id.startswith(GID) else None

    def _run(self, _info: Any, query: str, groupObjects: bool = False) -> dict[str, Any]:
        running = [op for op in self.operations.values()
                   if op["status"] in ("CREATED", "RUNNING")]
        if running:
            return {"bulkOperation": None, "userErrors": [{
                "field": ["query"], "code": "OPERATION_IN_PROGRESS",
                "message": f"A bulk query operation for this app and shop is already in "
                           f"progress: {running[0]['id']}."}]}
        data, why = self.endpoint.run_whole(query)
        if data is None:
            return {"bulkOperation": None,
                    "userErrors": [{"field": ["query"], "code": "INVALID", "message": why}]}
        gid = f"{GID}{self._next}"
        self._next += 1
        op: dict[str, Any] = {
            "__typename": "BulkOperation", "id": gid, "status": "CREATED", "type": "QUERY",
            "query": query, "createdAt": _now(), "completedAt": None, "errorCode": None,
            "objectCount": "0", "rootObjectCount": "0", "fileSize": None, "url": None,
            "partialDataUrl": None}
        body, count, roots = bulk.jsonl(data, grouped=groupObjects)
        op["_file"] = (body, count, roots)
        self.operations[gid] = op
        self._seen[gid] = 0
        return {"bulkOperation": op, "userErrors": []}

    def _polled(self, gid: str) -> dict[str, Any] | None:
        op = self.operations.get(gid)
        if op is None or op["status"] not in ("CREATED", "RUNNING"):
            return op
        self._seen[gid] += 1
        if self._seen[gid] < self.polls:
            op["status"] = "RUNNING"
            return op
        body, count, roots = op["_file"]
        op.update(completedAt=_now(), objectCount=str(count), rootObjectCount=str(roots))
        if self.fail_next is not None:
            op.update(status="FAILED", errorCode=self.fail_next)
            self.fail_next = None
            return op
        op["status"] = "COMPLETED"
        if count:  # §7: no url when the query produced no results
            name = f"{secrets.token_hex(12)}.jsonl"
            self.files[name] = body
            self.signatures[name] = secrets.token_hex(16)
            op.update(fileSize=str(len(body)), url=f"{self.base}/bulk-files/{name}"
                      f"?X-Goog-Signature={self.signatures[name]}")
        return op


def _sequence(gid: str) -> int:
    """The order operations were made in (their gids' numbers)."""
    tail = gid.rsplit("/", 1)[-1]
    return int(tail) if tail.isdigit() else 0


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
