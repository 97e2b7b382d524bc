"""A fake of Khaos Control Cloud's side of the channel protocol: the CLIENT that calls a
channel's endpoints, written from docs/vendors/khaos-control.md (§1.4, §2.2, §4, §5.5, §5.7,
§8.2, §9 S1-S6) and the public kcc-web-services README it cites (commit 8562f63b380a).

What it does, as the docs describe KCC:
* GETs the Configuration URL with ``Authorization: Basic base64(Username:Password)`` and reads
  the ``EndpointConfig`` (JSON or XML) for each object's URL / Format / Frequency;
* POSTs ``StockUpload`` (``{"Items": [...], "Deleted": [...]}``), ``StockStatusUpload``
  (``{"Statuses": [...]}``, 0-100 a request) and ``OrderStatusUpload``
  (``{"Statuses": [SalesOrderStatus]}``); anything not answered 200 is sent again;
* GETs ``OrderDownload`` and ``CReturnDownload``, sending ``Sirion-Continuation`` (a datetime
  ``2019-12-31 12:00:00Z`` on first contact, then the value the last answer gave) and, to
  retry returns whose import failed, ``SpecificIDs: "REF1,REF2"``;
* imports each served ``CustomerReturn`` like Khaos would (see CHOICES) and records why a
  refused one failed (KC §8.2: the KCC user sees it, the channel is told nothing).

CHOICES where the docs are silent (repeated in the report):
* ``SpecificIDs`` is sent exactly as the README prints it, double quotes included
  (``SpecificIDs: "AREF1530082911,AREF1531082912"``); whether KCC uses it for returns is
  UNKNOWN in KC §4: this fake does.
* ``Deleted`` entries are ``DeletedItem`` objects ``{"StockID": "..."}`` (README object table;
  its sample only shows ``[]``).
* Import refusals: URN unknown; an item not found by its mapping (StockCode, or Automatic:
  StockCode); an item deleted; a ``ReturnReason`` that is not one of Khaos's ids / codes /
  names; a ``SourceOrder.AssociatedRef`` that names an order Khaos does not hold. A missing or
  blank source order is accepted (``SourceReference`` is optional in CustomerReturnItem). A
  discontinued item is accepted on a return. Both ``SourceReturnReference`` (README sample) and
  ``SourceReference`` (README table, returns.php) are read.
* ``ProcessReturn`` true: Khaos processes the return on import ("Move Stock on Process"), which
  raises the items' Available levels at once: this fake records it and pushes that rise.
"""

from __future__ import annotations

import base64
import json
import threading
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import httpx

from . import scenario

MAPPING_TYPES = {"StockCode", "OtherRef", "Barcode", "WebCode", "Automatic"}


def basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def first_continuation(start: datetime) -> str:
    """KC §4: "what you will receive on your first contact ... 2019-12-31 12:00:00Z"."""
    return start.strftime("%Y-%m-%d %H:%M:%SZ")


@dataclass
class Exchange:
    n: int
    method: str
    url: str
    auth: str  # ok | none | wrong
    headers: dict[str, str]
    status: int
    resp_headers: dict[str, str]
    body: Any  # parsed JSON or text
    request_body: Any = None
    note: str = ""

    def excerpt(self, limit: int = 400) -> str:
        b = self.body if isinstance(self.body, str) else json.dumps(self.body)
        req = ""
        if self.request_body is not None:
            rb = json.dumps(self.request_body)
            req = f" req={rb[:limit]}"
        hdrs = {k: v for k, v in self.headers.items() if k.lower() != "authorization"}
        return (f"#{self.n} {self.method} {self.url} auth={self.auth} hdrs={hdrs}{req} -> "
                f"{self.status} {dict(self.resp_headers)} {b[:limit]}")


@dataclass
class Pull:
    n: int
    continuation_sent: str | None
    specific_ids: list[str] | None
    status: int
    continuation_got: str | None
    refs: list[str]
    lost: bool
    body: Any


@dataclass
class KhaosState:
    items: dict[str, dict[str, Any]] = field(default_factory=dict)  # StockCode -> StockItem
    deleted: set[str] = field(default_factory=set)  # StockIDs
    levels: dict[tuple[str, int], float] = field(default_factory=dict)
    imported: dict[str, dict[str, Any]] = field(default_factory=dict)
    failed: dict[str, str] = field(default_factory=dict)  # ref -> why (Notifications > Feedback)
    processed_on_import: list[str] = field(default_factory=list)
    duplicates: list[str] = field(default_factory=list)  # served again after a good import


class FakeKCC:
    def __init__(self, world: scenario.World, config_url: str, username: str,
                 password: str) -> None:
        self.w = world
        self.config_url = config_url
        self.username, self.password = username, password
        self.http = httpx.Client(timeout=30)
        self.log: list[Exchange] = []
        self.pulls: list[Pull] = []
        self.config: dict[str, dict[str, Any]] = {}
        self.config_raw: Any = None
        self.continuation: str | None = None
        self.k = KhaosState()
        self._lock = threading.Lock()

    # ------------------------------------------------------------------------ transport
    def _auth(self, auth: str) -> dict[str, str]:
        if auth == "ok":
            return {"Authorization": basic(self.username, self.password)}
        if auth == "wrong":
            return {"Authorization": basic(self.username, self.password + "x")}
        if auth == "wronguser":
            return {"Authorization": basic("khaos", self.password)}
        return {}

    def request(self, method: str, url: str, auth: str = "ok", body: Any = None,
                headers: dict[str, str] | None = None, note: str = "") -> Exchange:
        hdrs = dict(headers or {})
        hdrs.update(self._auth(auth))
        content = None
        if body is not None:
            content = json.dumps(body).encode()
            hdrs["Content-Type"] = "application/json"
        r = self.http.request(method, url, headers=hdrs, content=content)
        try:
            parsed: Any = r.json()
        except ValueError:
            parsed = r.text
        with self._lock:
            ex = Exchange(len(self.log) + 1, method, url, auth, hdrs, r.status_code,
                          dict(r.headers), parsed, body, note)
            self.log.append(ex)
        return ex

    def post(self, obj: str, body: Any, auth: str = "ok", note: str = "",
             tries: int = 3) -> Exchange:
        """KC §4: "Error codes will make the API try again": resend until 200 (bounded)."""
        url = self.config[obj]["URL"]
        ex = self.request("POST", url, auth, body, note=note)
        n = 1
        while auth == "ok" and ex.status != 200 and n < tries:
            ex = self.request("POST", url, auth, body, note=note + " (retry)")
            n += 1
        return ex

    # ------------------------------------------------------------------------ config
    def fetch_config(self, auth: str = "ok") -> Exchange:
        ex = self.request("GET", self.config_url, auth, note="config")
        if ex.status != 200 or auth != "ok":
            return ex
        self.config_raw = ex.body
        root: Any = ex.body
        if isinstance(root, str):  # XML EndpointConfig
            el = ET.fromstring(root)
            conf = {c.tag: {g.tag: (g.text or "") for g in c} for c in el}
            self.config_raw = {el.tag: conf}
            root = self.config_raw
        if isinstance(root, dict) and isinstance(root.get("EndpointConfig"), dict):
            self.config = root["EndpointConfig"]
        elif isinstance(root, dict):  # not wrapped: read anyway, the test says so
            self.config = root
        return ex

    # ------------------------------------------------------------------------ pushes
    def stock_item(self, it: scenario.Item, discontinued: bool) -> dict[str, Any]:
        """A StockItem as the README's Stock Upload sample shapes it."""
        return {
            "Barcodes": [],
            "BuyPrice": {"Net": round(it.price / 3, 2)},
            "ChannelListingPrice": {"Gross": it.price},
            "Images": [],
            "LeadTime": 5,
            "ListingPrices": [],
            "Options": {
                "CustomOptions": [],
                "Discontinued": discontinued,
                "DiscountsDisabled": False,
                "DropShipItem": False,
                "FreeText": False,
                "NonPhysical": False,
                "PublishOnWeb": not discontinued,
                "RunToZero": False,
                "StockControlled": True,
                "VatReliefQualified": False,
            },
            "SalesMultiple": 1.0,
            "SellPrice": {"Gross": it.price},
            "ShortDescription": it.desc,
            "StockDescription": it.desc,
            "StockCode": it.code,
            "StockID": it.stock_id,
            "StockType1": {"ID": "3", "Name": "Outdoor"},
            "StockType2": {"ID": "9", "Name": "[Outdoor] Clothing"},
            "SupplierInfo": [],
            "TaxRate": {"Code": "1", "ID": "1", "Name": "Standard"},
            "UserDefinedFields": [],
        }

    def push_stock(self, items: list[dict[str, Any]], deleted: list[str] | None = None,
                   auth: str = "ok", note: str = "stock") -> Exchange:
        body = {"Deleted": [{"StockID": s} for s in (deleted or [])], "Items": items}
        ex = self.post("StockUpload", body, auth, note)
        if auth == "ok" and ex.status == 200:
            for it in items:
                self.k.items[it["StockCode"]] = it
            self.k.deleted.update(deleted or [])
        return ex

    def status_of(self, code: str, site: int, available: float) -> dict[str, Any]:
        it = self.w.items[code]
        return {"StockCode": code, "StockID": it.stock_id, "SiteID": site,
                "Levels": {"Available": float(available), "OnOrder": 0.0}}

    def push_levels(self, statuses: list[dict[str, Any]], auth: str = "ok",
                    note: str = "levels") -> Exchange:
        assert len(statuses) <= 100  # KC §4: "between 0 and 100 stock items per request"
        ex = self.post("StockStatusUpload", {"Statuses": statuses}, auth, note)
        if auth == "ok" and ex.status == 200:
            for s in statuses:
                self.k.levels[(s["StockCode"], s["SiteID"])] = s["Levels"]["Available"]
        return ex

    def change_level(self, code: str, delta: float, site: int, note: str) -> Exchange:
        new = self.k.levels.get((code, site), 0.0) + delta
        return self.push_levels([self.status_of(code, site, new)], note=note)

    def push_order_statuses(self, statuses: list[dict[str, Any]]) -> Exchange:
        return self.post("OrderStatusUpload", {"Statuses": statuses}, note="order statuses")

    # ------------------------------------------------------------------------ pulls
    def pull(self, obj: str, auth: str = "ok", specific_ids: list[str] | None = None,
             continuation: str | None = None, lose: bool = False, note: str = "",
             apply: bool = True) -> Pull:
        url = self.config[obj]["URL"]
        headers: dict[str, str] = {}
        sent = continuation if continuation is not None else self.continuation
        if sent is not None:
            headers["Sirion-Continuation"] = sent
        if specific_ids is not None:
            headers["SpecificIDs"] = '"' + ",".join(specific_ids) + '"'
        ex = self.request("GET", url, auth, headers=headers, note=note or obj)
        got = ex.resp_headers.get("sirion-continuation")
        refs: list[str] = []
        body = ex.body
        if ex.status == 200 and isinstance(body, dict) and obj == "CReturnDownload":
            rs = body.get("Returns")
            if isinstance(rs, dict):
                rs = [rs]
            refs = [r.get("AssociatedRef") for r in (rs or []) if isinstance(r, dict)]
        p = Pull(len(self.pulls) + 1, sent, specific_ids, ex.status, got, refs, lose, body)
        self.pulls.append(p)
        if ex.status == 200 and not lose and auth == "ok":
            if got is not None:
                self.continuation = got
            if apply and obj == "CReturnDownload" and isinstance(body, dict):
                rs = body.get("Returns")
                if isinstance(rs, dict):
                    rs = [rs]
                for r in rs or []:
                    self.import_return(r)
        return p

    # ------------------------------------------------------------------------ Khaos import
    def _find_item(self, sku: str, mapping: Any) -> dict[str, Any] | None:
        kinds = ["StockCode"]
        if isinstance(mapping, list) and mapping:
            kinds = [m.get("Mapping") for m in mapping if isinstance(m, dict)]
        elif isinstance(mapping, str):
            kinds = [mapping]
        for k in kinds:
            if k in ("StockCode", "Automatic"):
                it = self.k.items.get(sku)
                if it is not None and it["StockID"] not in self.k.deleted:
                    return it
        return None

    def refusal(self, r: dict[str, Any]) -> str | None:
        if r.get("URN") != scenario.URN:
            return f"customer {r.get('URN')!r} not found"
        items = r.get("ReturnedItems") or []
        if not items:
            return "no returned items"
        for it in items:
            sku = it.get("SKU")
            if self._find_item(sku, it.get("Mapping")) is None:
                return f"stock item {sku!r} not found"
            reason = it.get("ReturnReason") or {}
            vals = {str(v) for v in reason.values()} if isinstance(reason, dict) else set()
            if not vals & (set(scenario.KHAOS_REASONS) | set(scenario.KHAOS_REASONS.values())):
                return f"return reason {reason!r} not found"
            src = it.get("SourceReturnReference") or it.get("SourceReference") or {}
            order = src.get("SourceOrder", src) if isinstance(src, dict) else {}
            aref = order.get("AssociatedRef") if isinstance(order, dict) else None
            if aref and aref not in self.w.khaos_orders:
                return f"source order {aref!r} not found"
        return None

    def import_return(self, r: dict[str, Any]) -> None:
        ref = r.get("AssociatedRef")
        if ref in self.k.imported:
            self.k.duplicates.append(ref)  # "must be unique amongst all returns": skipped
            return
        why = self.refusal(r)
        if why:
            self.k.failed[ref] = why
            return
        self.k.failed.pop(ref, None)
        self.k.imported[ref] = r
        if r.get("ProcessReturn") is True:
            # Move Stock on Process: the goods go back into stock at once
            self.k.processed_on_import.append(ref)
            for it in r.get("ReturnedItems") or []:
                code = it["SKU"]
                if code in self.w.items:
                    self.change_level(code, float(it.get("Quantity") or 0),
                                      scenario.SITE_RETURNS, f"ProcessReturn {ref}")
