"""Khaos Control Cloud's channel as its docs describe it (docs/vendors/khaos-control.md §1.4,
§4, §5.5, §9): a second reading of them, not a mirror of the connector (which it never
imports). Khaos calls us, so this simulator is a client: given the Configuration URL of a
channel (`listen`), it fetches the `EndpointConfig` with HTTP Basic, pushes its stock items
(`StockUpload`, all at first) and levels (`StockStatusUpload`), and pulls customer returns
(`CReturnDownload`) every Frequency minutes, echoing `Sirion-Continuation` and asking again
(`SpecificIDs`) for a return whose import failed. Anything but a 200 is sent again (§4).

It replays the scenario's ERP side in time order, each request made at the scenario time
of its event (the demo's receiver dates it so, as `listen` dates what arrives): Khaos
imports a return it is offered when the scenario's ERP has its return order, and fails to
otherwise (a return offered again after it gave up asking, as a re-queue does, it imports:
its administrator has fixed the cause); goods put back raise the item's Available level at
site 1 by what the ERP received; a blocked item is pushed Discontinued. Nothing of credit
notes is sent: the channel has no object for them.
"""

from __future__ import annotations

import base64
import json
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from tempfile import TemporaryDirectory
from typing import Any
from urllib.parse import urlsplit

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from ...sandbox.faults import Faults

USERNAME = "harbour-kcc"  # the channel Username the sandbox profile gives
PASSWORD = "kcc-sandbox-password"
URN = "WEBRETURNS"
SITE = "1"
BASE_LEVEL = Decimal(100)
#: What Khaos sends on its first contact (§4: "a datetime of the form 2019-12-31 12:00:00Z").
FIRST_CONTACT_DAYS = 90


def _moment(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text.replace("Z", "+00:00")) if text else None


@dataclass(order=True)
class _Step:
    at: datetime
    order: int
    kind: str = field(compare=False)
    data: Any = field(compare=False, default=None)


class KhaosChannelSimulator:
    """Khaos Control Cloud calling a channel (the sandbox's ERP side for `khaos`)."""

    def __init__(self, snapshot: dict, *, faults: Faults | None = None,
                 frequency: int = 15) -> None:
        self.faults = faults or Faults()
        self.frequency = timedelta(minutes=frequency)
        self.requests = 0
        self.items: dict[str, dict[str, Any]] = {}
        for n, item in enumerate(snapshot.get("erp_master", {}).get("items", []), start=1):
            self.items[item["number"]] = {
                "StockID": str(1000 + n), "StockCode": item["number"],
                "Options": {"PublishOnWeb": True, "Discontinued": bool(item.get("blocked")),
                            "StockControlled": item.get("type", "inventory") == "inventory"}}
        self.levels = {code: BASE_LEVEL for code in self.items}
        #: AssociatedRefs the scenario's ERP has (Khaos imports them when offered).
        self.importable: set[str] = set()
        self.taken: set[str] = set()
        #: The items of each return Khaos imported (what its processing puts back).
        self.took: dict[str, set[str]] = {}
        self.failed: dict[str, int] = {}
        #: Returns taken when offered again after Khaos stopped asking for them (a
        #: re-queue), as served: the sandbox's write journal.
        self.journal: list[dict[str, Any]] = []
        self.continuation: str | None = None
        self.log: list[dict[str, Any]] = []
        self._first = datetime.now(UTC) - timedelta(days=FIRST_CONTACT_DAYS)
        self._steps = self._timeline(snapshot)
        self._done = 0
        self._exports = TemporaryDirectory(prefix="returns-console-kcc-exports-")
        self._write_export(snapshot, Path(self._exports.name) / "credit-notes.csv")
        self._config: dict[str, dict[str, str]] | None = None
        self._config_url: str | None = None

    def _timeline(self, snapshot: dict) -> list[_Step]:
        steps: list[_Step] = []
        times: list[datetime] = []
        for case in snapshot.get("returns", []):
            p, e = case["platform"], case.get("erp") or {}
            estages = e.get("stages") or {}
            pauth = (p.get("stages") or {}).get("authorised") or {}
            if pauth.get("status") != "done":
                continue
            if "authorised" in estages:
                self.importable.add(p["return_ref"])
            at = _moment((estages.get("authorised") or {}).get("at")) or \
                (_moment(pauth.get("at")) or datetime.now(UTC)) + timedelta(minutes=10)
            times.append(at)
            received = estages.get("received") or {}
            if received.get("status") == "done" and received.get("at"):
                got = [(ln["item_no"], Decimal(str(ln.get("received_quantity")
                                                   or ln.get("quantity") or 0)))
                       for ln in e.get("lines", [])]
                steps.append(_Step(_moment(received["at"]) or at, 2, "rise",
                                   (p["return_ref"], got)))
        if not times:
            return steps
        start = min(times) - timedelta(hours=1)
        self._first = start - timedelta(days=FIRST_CONTACT_DAYS)
        steps.append(_Step(start, 0, "setup"))
        # a pull every Frequency minutes while returns come in (only where one is due)
        due = sorted({start + self.frequency * math.ceil((t - start) / self.frequency)
                      for t in times})
        steps += [_Step(t, 1, "pull") for t in due]
        steps.sort()
        return steps

    # -- the sandbox's side -----------------------------------------------------------------

    def app(self) -> Starlette:
        async def index(_request: Request) -> JSONResponse:
            return JSONResponse({"system": "Khaos Control Cloud (simulated channel)",
                                 "calls": "the channel's Configuration URL; see log",
                                 "requests": self.requests})

        async def log(_request: Request) -> JSONResponse:
            return JSONResponse(self.log[-500:])

        return Starlette(routes=[Route("/", index), Route("/log", log)])

    def settings(self, base_url: str) -> dict[str, Any]:
        # the scenario's returns are older than the channel: offered all the same; its
        # credit notes come from Khaos's own export, dropped into a folder of the sandbox's
        return {"urn": URN, "backfill_days": 60, "exports_dir": self._exports.name}

    def _write_export(self, snapshot: dict, path: Path) -> None:
        """Khaos's credit note report as a person would export it (the columns the profile's
        defaults look for; dates DD/MM/YYYY, §3.2), one row per issued credit note of a
        return Khaos has."""
        rows = ["Credit Note Code,Associated Ref,Issue Date,Gross,VAT,Currency"]
        for case in snapshot.get("returns", []):
            for note in (case.get("erp") or {}).get("credit_notes", []):
                if note.get("status") != "posted" or not note.get("external_ref"):
                    continue
                amounts = note.get("amounts") or {}
                part = {k: Decimal(str(amounts.get(k) or 0))
                        for k in ("items", "tax", "shipping", "discounts", "fees")}
                gross = part["items"] + part["tax"] + part["shipping"] - part["discounts"] \
                    - part["fees"]
                issued = _moment(note.get("posted_at"))
                rows.append(",".join([
                    note.get("number") or note["id"], note["external_ref"],
                    issued.strftime("%d/%m/%Y") if issued else "",
                    f"{gross:.2f}", f"{Decimal(str(amounts.get('tax') or 0)):.2f}",
                    amounts.get("currency") or "GBP"]))
        path.write_text("\n".join(rows) + "\n", encoding="utf-8")

    def credentials(self) -> dict[str, str]:
        return {"username": USERNAME, "password": PASSWORD}

    def touch(self, refs: set[str], at: datetime) -> None:
        """Nothing of a return's edit reaches Khaos but the next pull."""

    def expire_sessions(self) -> None:
        """Basic on every call: nothing expires."""

    def native_code(self, kind: str, code: str) -> str:
        return code

    def native(self) -> Any:
        return {"items": list(self.items.values()), "log": self.log}

    def writes_json(self) -> bytes:
        """What Khaos took from the feed after its first look at each return (a return
        offered again by a re-queue): nothing else is written to Khaos."""
        return json.dumps(self.journal).encode()

    def clear_writes(self) -> int:
        count, self.journal = len(self.journal), []
        return count

    def bump(self, entity: str, record_id: str) -> dict[str, Any]:
        raise KeyError(record_id)

    def fail_writes(self, count: int = 1, *, status: int = 503, after: bool = False) -> None:
        """No write endpoint to fail."""

    # -- Khaos calling the channel ----------------------------------------------------------

    def cycle(self, config_url: str, *, now: datetime | None = None,
              sending: Callable[[datetime], None] | None = None) -> int:
        """Make every call due by `now` (the scenario's events first, then a pull now);
        how many requests were answered 200. A call not answered 200 stops the cycle: it is
        made again next time (§4)."""
        now = now or datetime.now(UTC)
        answered = 0
        with httpx.Client(timeout=30.0) as http:
            if self._config is None or self._config_url != config_url:
                if not self._fetch_config(http, config_url, sending, now):
                    return answered
                answered += 1
            while self._done < len(self._steps) and self._steps[self._done].at <= now:
                step = self._steps[self._done]
                ok = self._run(http, step, sending)
                if not ok:
                    return answered
                answered += 1
                self._done += 1
            if self._pull(http, now, sending):
                answered += 1
        return answered

    def _auth(self) -> dict[str, str]:
        token = base64.b64encode(f"{USERNAME}:{PASSWORD}".encode()).decode()
        return {"Authorization": f"Basic {token}"}

    def _call(self, http: httpx.Client, method: str, url: str, at: datetime,
              sending: Callable[[datetime], None] | None, **kw: Any) -> httpx.Response | None:
        if sending is not None:
            sending(at)
        self.requests += 1
        headers = {**self._auth(), **kw.pop("headers", {})}
        try:
            answer = http.request(method, url, headers=headers, **kw)
        except httpx.HTTPError as exc:
            self.log.append({"at": at.isoformat(), "call": f"{method} {urlsplit(url).path}",
                             "error": type(exc).__name__})
            return None
        self.log.append({"at": at.isoformat(), "call": f"{method} {urlsplit(url).path}",
                         "status": answer.status_code})
        return answer if answer.status_code == 200 else None

    def _fetch_config(self, http: httpx.Client, url: str,
                      sending: Callable[[datetime], None] | None, now: datetime) -> bool:
        at = self._steps[0].at if self._steps else now
        answer = self._call(http, "GET", url, at, sending)
        if answer is None:
            return False
        doc = answer.json() if not answer.content.lstrip().startswith(b"<") \
            else _xml_config(answer.content)
        found = doc.get("EndpointConfig", doc)
        self._config = {k: v for k, v in found.items() if isinstance(v, dict)}
        self._config_url = url
        return True

    def _url(self, name: str) -> str:
        assert self._config is not None
        return self._config[name]["URL"]

    def _run(self, http: httpx.Client, step: _Step,
             sending: Callable[[datetime], None] | None) -> bool:
        if step.kind == "setup":
            items = {"Items": list(self.items.values()), "Deleted": []}
            if self._call(http, "POST", self._url("StockUpload"), step.at, sending,
                          json=items) is None:
                return False
            return self._levels(http, step.at, list(self.items), sending)
        if step.kind == "pull":
            return self._pull(http, step.at, sending)
        if step.kind == "rise":
            ref, got = step.data
            if ref not in self.taken:
                return True  # a return Khaos never imported comes back into no stock here
            moved = []
            for code, quantity in got:
                if code not in self.took.get(ref, ()):
                    continue  # an item the imported return does not have
                if code in self.levels and quantity > 0:
                    self.levels[code] += quantity
                    moved.append(code)
            return self._levels(http, step.at, moved, sending) if moved else True
        return True

    def _levels(self, http: httpx.Client, at: datetime, codes: list[str],
                sending: Callable[[datetime], None] | None) -> bool:
        statuses = [{"StockCode": code, "StockID": self.items[code]["StockID"], "SiteID": 1,
                     "Levels": {"Available": float(self.levels[code]), "OnOrder": 0.0}}
                    for code in codes]
        for k in range(0, len(statuses), 100):  # "between 0 and 100 stock items per request"
            if self._call(http, "POST", self._url("StockStatusUpload"), at, sending,
                          json={"Statuses": statuses[k:k + 100]}) is None:
                return False
        return True

    def _pull(self, http: httpx.Client, at: datetime,
              sending: Callable[[datetime], None] | None) -> bool:
        """A pull of the returns feed, then one asking again for what failed to import."""
        if not self._pull_once(http, at, sending, ()):
            return False
        retry = sorted(ref for ref, n in self.failed.items() if n < 2)
        if retry:
            return self._pull_once(http, at + timedelta(minutes=1), sending, retry)
        return True

    def _pull_once(self, http: httpx.Client, at: datetime,
                   sending: Callable[[datetime], None] | None, specific: Any) -> bool:
        headers = {"Sirion-Continuation": self.continuation or
                   self._first.strftime("%Y-%m-%d %H:%M:%SZ")}
        if specific:
            headers["SpecificIDs"] = ",".join(specific)
        answer = self._call(http, "GET", self._url("CReturnDownload"), at, sending,
                            headers=headers)
        if answer is None:
            return False
        self.continuation = answer.headers.get("Sirion-Continuation", self.continuation)
        body = answer.json() if not answer.content.lstrip().startswith(b"<") else {}
        returns = body.get("Returns", [])
        if isinstance(returns, dict):  # the documented sample's object (§5.5)
            returns = [returns]
        for ret in returns:
            ref = str(ret.get("AssociatedRef", ""))
            # offered unasked after Khaos gave up asking for it: a re-queue, once the
            # sandbox's Khaos administrator fixed what failed (Notifications > Feedback)
            requeued = not specific and self.failed.get(ref, 0) >= 2
            if requeued:
                self.journal.append({"method": "OFFER", "path": urlsplit(
                    self._url("CReturnDownload")).path, "headers": {}, "body": ret})
            if (ref in self.importable or requeued) and ret.get("URN") and _no_nulls(ret):
                self.taken.add(ref)
                self.took[ref] = {str(item.get("SKU")) for item in ret.get("ReturnedItems", [])}
                self.failed.pop(ref, None)
            else:
                self.failed[ref] = self.failed.get(ref, 0) + 1
        return True


def _no_nulls(value: Any) -> bool:
    """§4: "A null value will cause errors": such a return fails to import."""
    if value is None:
        return False
    if isinstance(value, dict):
        return all(_no_nulls(v) for v in value.values())
    if isinstance(value, list):
        return all(_no_nulls(v) for v in value)
    return True


def _xml_config(body: bytes) -> dict[str, Any]:
    import xml.etree.ElementTree as ET

    root = ET.fromstring(body)
    return {child.tag: {g.tag: (g.text or "") for g in child} for child in root}


def build(snapshot: dict, *, faults: Faults | None = None, **knobs: Any
          ) -> KhaosChannelSimulator:
    frequency = int(knobs.pop("frequency", 15))
    if knobs:
        raise TypeError(f"the Khaos simulator takes no {', '.join(knobs)}")
    return KhaosChannelSimulator(snapshot, faults=faults, frequency=frequency)


__all__ = ["PASSWORD", "URN", "USERNAME", "KhaosChannelSimulator", "build"]

