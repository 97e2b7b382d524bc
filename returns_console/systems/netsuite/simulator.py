"""NetSuite as its docs describe it (docs/vendors/netsuite.md): a second reading of them,
not a mirror of the connector (which it never imports).

The account keeps SuiteQL's tables (§4.8: `transaction`, `transactionline`, `item`,
`customer`, `location`, `accountingperiod`, ...) in SQLite and answers any SELECT the
connector sends (`simulator_suiteql.py`), values as text, 'T'/'F', NULL left out. Documents
follow the lifecycle (§5.1): a return authorization (RA) is created from the web order's
sales order, approved, received by item receipts created from it (its lines'
`quantityshiprecv` move), refunded by credit memos created from it (a transform copies the
body's PO/Check No.), its status letter following (§4.7). Every change moves
`lastmodifieddate`. The token endpoint checks the client's JWT assertion the way §2.1-2.2
describe (a PS256 or ES256 signature by a mapped certificate, `kid`, `iss`, `aud`, a lifetime
under an hour) and issues 60-minute bearer tokens; a request may instead carry a Token-Based
Authentication header (§2.3, `simulator_auth.py`).

Where the canonical scenario says what NetSuite cannot: a draft credit note is saved
(NetSuite has no draft credit memos; it is posted on save, §5.1); a customer that does not
exist is an inactive one (a transaction cannot name a customer NetSuite lacks); the
inspection is the item receipt (its Restock decision).
"""

from __future__ import annotations

import base64
import json
import secrets
import time
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from functools import cache
from typing import Any
from urllib.parse import parse_qsl

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from ...sandbox.faults import Faults
from .simulator_auth import DEMO_TBA, PublicKey, TbaCheck, signature_refusal, signed_url
from .simulator_suiteql import (
    MALFORMED,
    ColumnType,
    SuiteQLEndpoint,
    SuiteQLEngine,
    error_response,
)

ACCOUNT_ID = "1234567_SB1"
CLIENT_ID = "a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f9"
CERTIFICATE_ID = "Xk3sandboxCertificateId0000000000000000000"
TOKEN_PATH = "/services/rest/auth/oauth2/v1/token"
SUITEQL_PATH = "/services/rest/query/v1/suiteql"
RECORD_PATH = "/services/rest/record/v1/{kind}/{ident}"
TRANSFORM_PATH = "/services/rest/record/v1/{kind}/{ident}/!transform/{target}"
#: REST record ids (§4.1; case-insensitive in URLs) and their SuiteQL transaction types.
RECORD_TYPES = {"returnauthorization": "RtnAuth", "itemreceipt": "ItemRcpt",
                "creditmemo": "CustCred", "cashrefund": "CashRfnd", "salesorder": "SalesOrd",
                "invoice": "CustInvc"}
#: Body fields a PATCH may change here, and their SuiteQL columns (§6.1).
PATCHABLE = {"otherRefNum": "otherrefnum", "externalId": "externalid", "memo": "memo",
             "custbody_return_ref": "custbody_return_ref"}
SECRET_HEADERS = frozenset({"authorization", "cookie"})
#: An item receipt line's fields a transform body may set (the UI's Receive, Quantity,
#: Restock and Location, §4.3, by this simulator's reading of their REST names).
_RECEIPT_LINE_FIELDS = frozenset({"line", "itemReceive", "quantity", "restock", "location"})
TOKEN_SECONDS = 3600
#: Where the record service's self links point (the account's REST host, §1.1).
RECORDS_HREF = "https://1234567-sb1.suitetalk.api.netsuite.com/services/rest/record/v1"
_ORDER_DAYS_BEFORE = 10
LOCAL_CURRENCY = "GBP"
SHIPPING_ITEM = "SHIPPING"
DISCOUNT_ITEM = "DISCOUNT"
GOODS_ITEM = "RETURNED-GOODS"

#: Text columns unless named here (SuiteQL sends every value as text anyway, §3.3).
_N: ColumnType = "NUMERIC"
_D: ColumnType = "DATE"
_T: ColumnType = "DATETIME"
_S: ColumnType = "TEXT"
SCHEMA: dict[str, dict[str, ColumnType]] = {
    "transaction": {
        "id": _N, "tranid": _S, "transactionnumber": _S, "type": _S, "status": _S,
        "trandate": _D, "createddate": _T, "lastmodifieddate": _T, "postingperiod": _N,
        "posting": _S, "entity": _N, "currency": _N, "exchangerate": _S, "foreigntotal": _S,
        "otherrefnum": _S, "externalid": _S, "memo": _S, "custbody_return_ref": _S},
    "transactionline": {
        "transaction": _N, "id": _N, "uniquekey": _N, "linesequencenumber": _N,
        "mainline": _S, "taxline": _S, "item": _N, "itemtype": _S, "quantity": _S,
        "quantityshiprecv": _S, "rate": _S, "foreignamount": _S, "netamount": _S,
        "location": _N, "createdfrom": _N, "isclosed": _S, "units": _N,
        "isinventoryaffecting": _S, "iscogs": _S, "memo": _S, "linelastmodifieddate": _T},
    "item": {"id": _N, "itemid": _S, "displayname": _S, "itemtype": _S, "isinactive": _S,
             "stockunit": _N, "saleunit": _N},
    "customer": {"id": _N, "entityid": _S, "companyname": _S, "email": _S,
                 "isinactive": _S, "lastmodifieddate": _T},
    "location": {"id": _N, "name": _S, "fullname": _S, "isinactive": _S},
    "accountingperiod": {
        "id": _N, "periodname": _S, "startdate": _D, "enddate": _D, "closed": _S,
        "arlocked": _S, "aplocked": _S, "alllocked": _S, "isposting": _S, "isquarter": _S,
        "isyear": _S, "isadjust": _S, "isinactive": _S},
    "currency": {"id": _N, "symbol": _S, "name": _S},
    "paymentmethod": {"id": _N, "name": _S, "isinactive": _S},
    "customlist_return_reason": {"id": _N, "name": _S, "isinactive": _S},
    "nexttransactionlinelink": {
        "previousdoc": _N, "previousline": _N, "previoustype": _S, "nextdoc": _N,
        "nextline": _N, "nexttype": _S, "linktype": _S, "foreignamount": _S,
        "lastmodifieddate": _T},
}
#: What the connector's joins and filters look up (SQLite finds rows by these).
INDEXES: dict[str, list[str | tuple[str, ...]]] = {
    "transaction": ["type", "otherrefnum", "custbody_return_ref", "trandate"],
    "transactionline": [("transaction", "id"), "createdfrom", "item"],
}

#: Status display texts by type and letter (§4.7; RA texts as Oracle names them).
STATUS_TEXT = {
    "RtnAuth": {"A": "Pending Approval", "B": "Pending Receipt", "C": "Cancelled",
                "D": "Partially Received", "E": "Pending Refund/Partially Received",
                "F": "Pending Refund", "G": "Refunded", "H": "Closed"},
    "CustCred": {"A": "Open", "B": "Fully Applied", "V": "Voided"},
    "CashRfnd": {"A": "Deposited", "V": "Voided"},
    "ItemRcpt": {"A": "Received"},
    "SalesOrd": {"A": "Pending Approval", "B": "Pending Fulfillment",
                 "F": "Pending Billing", "G": "Billed", "H": "Closed"},
    "CustInvc": {"A": "Open", "B": "Paid In Full"},
}
_PREFIX = {"RtnAuth": "RMA", "ItemRcpt": "IR", "CustCred": "CM", "CashRfnd": "CR",
           "SalesOrd": "SO", "CustInvc": "INV"}


def stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")


def _moment(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)


def _tf(flag: bool) -> str:
    return "T" if flag else "F"


def _text(value: Decimal) -> str:
    return f"{value.normalize():f}" if value == value.to_integral() else f"{value:f}"


@dataclass
class NetSuiteAccount:
    """One account's records, changed only through its lifecycle methods."""

    engine: SuiteQLEngine = field(default_factory=lambda: SuiteQLEngine(SCHEMA, indexes=INDEXES))
    clock: datetime = field(default_factory=lambda: datetime.now(UTC).replace(microsecond=0))
    _next: dict[str, int] = field(default_factory=dict)
    _numbers: dict[str, int] = field(default_factory=dict)
    #: Master data ids by name, per table.
    ids: dict[str, dict[str, int]] = field(default_factory=dict)
    #: The tax a return authorization's lines carry (what NetSuite computes on a credit
    #: made from it, §5.2), by its id: not a SuiteQL column here.
    ra_tax: dict[int, Decimal] = field(default_factory=dict)
    #: An item receipt line's Restock box, by (receipt id, line): not a SuiteQL column
    #: (§4.3), kept for whoever checks what a receipt put back on sale.
    restocked: dict[tuple[int, int], bool] = field(default_factory=dict)

    def new_id(self, table: str, start: int = 100) -> int:
        n = self._next.get(table, start)
        self._next[table] = n + 1
        return n

    def master(self, table: str, key: str, /, **columns: Any) -> int:
        """A master record (item, customer, location, ...) by its key; made once."""
        known = self.ids.setdefault(table, {})
        if key in known:
            return known[key]
        ident = self.new_id(table, 1)
        self.engine.insert(table, {"id": ident, **columns})
        known[key] = ident
        return ident

    def unit(self, code: str) -> int:
        return self.ids.setdefault("units", {}).setdefault(code, len(self.ids["units"]) + 1)

    def currency(self, symbol: str) -> int:
        return self.master("currency", symbol.upper(), symbol=symbol.upper(), name=symbol)

    def item(self, number: str, **columns: Any) -> int:
        columns.setdefault("itemtype", "InvtPart")
        columns.setdefault("isinactive", "F")
        return self.master("item", number, itemid=number, displayname=number.title(),
                           **columns)

    def period_of(self, day: date) -> int | None:
        rows = self.engine.rows("accountingperiod")
        for row in rows:
            if str(row["startdate"]) <= day.isoformat() <= str(row["enddate"]):
                return int(row["id"])
        return None

    # -- documents -----------------------------------------------------------------------

    def document(self, kind: str, at: datetime, *, status: str, entity: int | None,
                 link: str | None = None, currency: str = LOCAL_CURRENCY,
                 lines: list[dict[str, Any]] | None = None, created_from: int | None = None,
                 day: date | None = None) -> int:
        """A transaction with its header line (`mainline` 'T') and `lines`."""
        ident = self.new_id("transaction", 1000)
        seq = self._numbers[kind] = self._numbers.get(kind, 0) + 1
        day = day or at.date()
        total = sum((Decimal(ln.get("foreignamount") or 0) for ln in lines or ()), Decimal(0))
        self.engine.insert("transaction", {
            "id": ident, "tranid": f"{_PREFIX[kind]}{seq:06d}",
            "transactionnumber": f"{_PREFIX[kind]}{seq:06d}", "type": kind, "status": status,
            "status__df": STATUS_TEXT[kind].get(status, status),
            "trandate": day.isoformat(), "createddate": stamp(at),
            "lastmodifieddate": stamp(at), "postingperiod": self.period_of(day),
            "posting": _tf(kind in ("CustCred", "CashRfnd", "CustInvc", "ItemRcpt")),
            "entity": entity, "currency": self.currency(currency), "exchangerate": "1",
            "foreigntotal": _text(total), "otherrefnum": link, "externalid": None,
            "memo": None, "custbody_return_ref": link})
        self.engine.insert("transactionline", {
            "transaction": ident, "id": 0, "uniquekey": ident * 1000, "linesequencenumber": 0,
            "mainline": "T", "taxline": "F", "foreignamount": _text(total),
            "createdfrom": created_from, "isclosed": "F", "linelastmodifieddate": stamp(at)})
        for n, line in enumerate(lines or (), start=1):
            units = line.pop("units_code", None)
            self.engine.insert("transactionline", {
                "transaction": ident, "id": n, "uniquekey": ident * 1000 + n,
                "linesequencenumber": n, "mainline": "F", "taxline": "F",
                "createdfrom": created_from, "isclosed": "F",
                "linelastmodifieddate": stamp(at),
                **({"units": self.unit(units), "units__df": units} if units else {}),
                **line})
        return ident

    def set_status(self, ident: int, kind: str, status: str, at: datetime) -> None:
        self.engine.update("transaction", {"id": ident}, {
            "status": status, "status__df": STATUS_TEXT[kind].get(status, status),
            "lastmodifieddate": stamp(at)})

    def touch(self, ident: int, at: datetime) -> None:
        self.engine.update("transaction", {"id": ident}, {"lastmodifieddate": stamp(at)})


# -- a canonical scenario, played through the lifecycle ------------------------------------


class _Renderer:
    def __init__(self, snapshot: dict[str, Any]) -> None:
        self.snapshot = snapshot
        as_of = snapshot.get("as_of")
        self.as_of = _moment(as_of) if as_of else datetime.now(UTC).replace(microsecond=0)
        self.account = NetSuiteAccount(clock=self.as_of)
        self.master_at = self.as_of - timedelta(days=400)

    def render(self) -> NetSuiteAccount:
        a = self.account
        master = self.snapshot.get("erp_master") or {}
        for period in sorted(master.get("periods") or [], key=lambda p: p["start"]):
            start = date.fromisoformat(period["start"])
            end = (start.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)
            closed = bool(period.get("closed"))
            a.master("accountingperiod", period["start"],
                     periodname=period.get("name") or start.strftime("%b %Y"),
                     startdate=start.isoformat(), enddate=end.isoformat(),
                     closed=_tf(closed), arlocked=_tf(closed), aplocked=_tf(closed),
                     alllocked="F", isposting="T", isquarter="F", isyear="F",
                     isadjust="F", isinactive="F")
        for item in master.get("items") or []:
            uom = item.get("base_uom") or "EA"
            a.item(item["number"], itemtype="Service" if item.get("type") == "service"
                   else "InvtPart", isinactive=_tf(bool(item.get("blocked"))),
                   stockunit=a.unit(uom), stockunit__df=uom, saleunit=a.unit(uom),
                   saleunit__df=uom)
        a.item(SHIPPING_ITEM, itemtype="OthCharge")
        a.item(DISCOUNT_ITEM, itemtype="Discount")
        for customer in master.get("customers") or []:
            self.customer(customer["number"], customer.get("email"))
        for code in master.get("locations") or []:
            a.master("location", code, name=code, fullname=code, isinactive="F")
        for code in master.get("payment_methods") or []:
            a.master("paymentmethod", code, name=code, isinactive="F")
        for code in master.get("reasons") or []:
            a.master("customlist_return_reason", code, name=code, isinactive="F")
        a.currency(LOCAL_CURRENCY)
        cases = list(self.snapshot.get("returns") or [])
        cases.sort(key=lambda c: (c.get("platform", {}).get("created_at") or "",
                                  (c.get("erp") or {}).get("return_ref") or ""))
        for case in cases:
            self.play(case)
        return a

    def customer(self, number: str, email: str | None = None, *,
                 inactive: bool = False) -> int:
        return self.account.master("customer", number, entityid=number,
                                   companyname=f"Customer {number}", email=email,
                                   isinactive=_tf(inactive),
                                   lastmodifieddate=stamp(self.master_at))

    def item_id(self, number: str) -> int:
        return self.account.ids.get("item", {}).get(number) or self.account.item(number)

    def location_id(self, code: str | None) -> int | None:
        if not code:
            return None
        return self.account.master("location", code, name=code, fullname=code,
                                   isinactive="F")

    def play(self, case: dict[str, Any]) -> None:
        a = self.account
        erp = case.get("erp") or {}
        if not erp:
            return
        stages = erp.get("stages") or {}
        link = erp.get("return_ref") or None
        lines = erp.get("lines") or []
        started = _moment(case["platform"]["created_at"]) if case.get("platform", {}).get(
            "created_at") else self.as_of
        customer = erp.get("customer_ref")
        entity = None
        if customer:
            entity = a.ids.get("customer", {}).get(customer) or self.customer(
                customer, inactive=True)
        order_ref = erp.get("order_ref")
        order = None
        if order_ref:
            order = a.document("SalesOrd", started - timedelta(days=_ORDER_DAYS_BEFORE),
                               status="G", entity=entity, link=None,
                               lines=[self.line(ln, "quantity") for ln in lines])
            a.engine.update("transaction", {"id": order},
                            {"otherrefnum": order_ref, "custbody_return_ref": None})
        authorised = stages.get("authorised") or {}
        ra = None
        if authorised.get("status") in ("done", "pending", "failed"):
            at = _moment(authorised["at"]) if authorised.get("at") else started
            ra_lines = [self.line(ln, "quantity", sign=-1) for ln in lines]
            platform = case.get("platform") or {}
            sold = platform.get("lines") or []
            if len(sold) == len(lines):  # the prices the sales order (and so the RA) carries
                for ra_line, line in zip(ra_lines, sold, strict=True):
                    if line.get("unit_price") is not None:
                        ra_line["rate"] = _text(Decimal(str(line["unit_price"])))
            ra = a.document("RtnAuth", at, status="A", entity=entity, link=link,
                            created_from=order, lines=ra_lines)
            tax = (platform.get("refund") or {}).get("tax")
            if tax:
                a.ra_tax[ra] = Decimal(str(tax))
            state = erp.get("return_order_state") or "open"
            if authorised.get("status") == "failed":
                a.set_status(ra, "RtnAuth", "C", at)
            elif authorised.get("status") != "pending" and state != "on_hold":
                a.set_status(ra, "RtnAuth", {"cancelled": "C", "closed": "H"}.get(state, "B"),
                             at)
        received = stages.get("received") or {}
        if ra is not None and received.get("status") == "done":
            at = _moment(received["at"]) if received.get("at") else started
            got = [ln for ln in lines if Decimal(ln.get("received_quantity") or 0) > 0]
            a.document("ItemRcpt", at, status="A", entity=entity, link=link,
                       created_from=ra,
                       lines=[self.line(ln, "received_quantity") for ln in got or lines])
            for n, ln in enumerate(lines, start=1):
                a.engine.update("transactionline", {"transaction": ra, "id": n}, {
                    "quantityshiprecv": _text(Decimal(ln.get("received_quantity") or 0))})
            whole = all(Decimal(ln.get("received_quantity") or 0) >= Decimal(ln["quantity"])
                        for ln in lines)
            # every unit received: Pending Refund; some: Partially Received (§4.7)
            self.advance(ra, "F" if whole else "D", at)
        for note in erp.get("credit_notes") or []:
            self.credit(note, erp, lines, ra, entity, started)
        exchanged = stages.get("exchanged") or {}
        if exchanged.get("status") == "done":
            at = _moment(exchanged["at"]) if exchanged.get("at") else started
            a.document("SalesOrd", at, status="B", entity=entity, link=link,
                       lines=[self.line(ln, "quantity") for ln in lines])

    def advance(self, ra: int, letter: str, at: datetime) -> None:
        """The RA's status moves on with what was done from it (never back from closed)."""
        row = self.account.engine.rows("transaction", id=ra)[0]
        if row["status"] in ("A", "C", "H"):
            self.account.touch(ra, at)
            return
        self.account.set_status(ra, "RtnAuth", letter, at)

    def line(self, line: dict[str, Any], quantity_key: str, *, sign: int = 1
             ) -> dict[str, Any]:
        quantity = Decimal(line.get(quantity_key) or line.get("quantity") or 0)
        return {"item": self.item_id(line["item_no"]), "itemtype": "InvtPart",
                "quantity": _text(quantity * sign), "units_code": line.get("uom") or None,
                "location": self.location_id(line.get("location")),
                "isinventoryaffecting": "T"}

    def credit(self, note: dict[str, Any], erp: dict[str, Any], lines: list[dict[str, Any]],
               ra: int | None, entity: int | None, started: datetime) -> None:
        a = self.account
        amounts = note.get("amounts") or {}
        money = {k: Decimal(amounts.get(k) or 0)
                 for k in ("items", "tax", "shipping", "discounts", "fees")}
        currency = (amounts.get("currency") or LOCAL_CURRENCY).upper()
        posted = note.get("posted_at")
        day = date.fromisoformat(note["posting_date"]) if note.get("posting_date") else None
        at = _moment(posted) if posted else (
            datetime.combine(day, datetime.min.time(), UTC) if day else started)
        source = None
        if ra is not None and note.get("order_ref") in (None, erp.get("order_ref")):
            source = ra
        elif note.get("order_ref"):
            source = a.document("CustInvc", at - timedelta(days=20), status="B",
                                entity=entity, link=None)
            a.engine.update("transaction", {"id": source},
                            {"otherrefnum": note["order_ref"], "custbody_return_ref": None})
        if note.get("customer_ref") and note.get("customer_ref") != erp.get("customer_ref"):
            entity = a.ids.get("customer", {}).get(note["customer_ref"]) or self.customer(
                note["customer_ref"], inactive=True)
        out: list[dict[str, Any]] = []
        # a credit with no return lines behind it credits goods all the same
        items = list(lines) or [{"item_no": GOODS_ITEM, "quantity": "1"}]
        shares = _split(money["items"], len(items))
        for line, amount in zip(items, shares, strict=True):
            out.append({**self.line(line, "received_quantity"),
                        "foreignamount": _text(amount), "netamount": _text(amount)})
        if money["shipping"]:
            out.append({"item": self.item_id(SHIPPING_ITEM), "itemtype": "OthCharge",
                        "quantity": "1", "foreignamount": _text(money["shipping"])})
        if money["discounts"]:
            out.append({"item": self.item_id(DISCOUNT_ITEM), "itemtype": "Discount",
                        "quantity": "1", "foreignamount": _text(-money["discounts"])})
        if money["fees"]:
            out.append({"item": self.item_id("FEE-RETURN"), "itemtype": "Service",
                        "quantity": "-1", "foreignamount": _text(-money["fees"])})
        if money["tax"]:
            out.append({"taxline": "T", "foreignamount": _text(money["tax"])})
        status = "V" if note.get("status") == "cancelled" else "A"
        a.document("CustCred", at, status=status, entity=entity,
                   link=note.get("external_ref") or None, currency=currency, lines=out,
                   created_from=source, day=day)
        if source == ra and ra is not None and status != "V":
            row = a.engine.rows("transaction", id=ra)[0]
            # refunded in full once everything came back; else refunds are partial (§4.7)
            self.advance(ra, "G" if row["status"] in ("F", "G") else "E", at)


def _split(total: Decimal, parts: int) -> list[Decimal]:
    if parts <= 0:
        return []
    cent = Decimal("0.01")
    share = (total / parts).quantize(cent)
    out = [share] * parts
    out[-1] = total - share * (parts - 1)
    return out


def render(snapshot: dict[str, Any]) -> NetSuiteAccount:
    return _Renderer(snapshot).render()


# -- the web service -------------------------------------------------------------------------


@cache
def demo_key() -> rsa.RSAPrivateKey:
    """The demo certificate's key: RSA 3072, the smallest NetSuite maps (§2.2); made once a
    process (a public demo secret, like every sandbox credential)."""
    return rsa.generate_private_key(public_exponent=65537, key_size=3072)


def demo_key_pem() -> str:
    return demo_key().private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption()).decode("ascii")


def _b64(part: str) -> bytes:
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


class NetSuiteSimulator:
    """The token endpoint and SuiteQL over a `NetSuiteAccount` (sandbox/hosted.py)."""

    def __init__(self, account: NetSuiteAccount, *, faults: Faults | None = None,
                 account_id: str = ACCOUNT_ID, client_id: str = CLIENT_ID,
                 certificate_id: str = CERTIFICATE_ID) -> None:
        self.account = account
        self.faults = faults or Faults()
        self.account_id = account_id
        self.client_id = client_id
        self.certificate_id = certificate_id
        #: The certificates mapped to the integration, by certificate id (§2.2).
        self.certificates: dict[str, PublicKey] = {certificate_id: demo_key().public_key()}
        #: Token-Based Authentication's integration record and access token (§2.3).
        self.tba = TbaCheck(account_id)
        self.tokens: dict[str, float] = {}
        self.requests = 0
        self.token_requests = 0
        self.endpoint = SuiteQLEndpoint(account.engine)
        #: Every write request received (method, path below the mount, query, headers but
        #: credentials, JSON body, the status answered), oldest first.
        self.writes: list[dict[str, Any]] = []
        #: How the next writes fail: (status, after), consumed one per write.
        self._failures: list[tuple[int, bool]] = []

    def app(self) -> Starlette:
        return Starlette(routes=[
            Route(TOKEN_PATH, self._token, methods=["POST"]),
            Route(SUITEQL_PATH, self._suiteql, methods=["POST"]),
            Route(RECORD_PATH, self._record, methods=["GET", "PATCH"]),
            Route(TRANSFORM_PATH, self._transform, methods=["POST"]),
            Route("/services/rest/{rest:path}", self._not_simulated,
                  methods=["GET", "POST", "PATCH", "PUT", "DELETE"]),
        ])

    # -- what the sandbox asks of every simulator ----------------------------------------

    def settings(self, base_url: str) -> dict[str, Any]:
        return {"account_id": self.account_id, "client_id": self.client_id,
                "certificate_id": self.certificate_id}

    def touch(self, refs: set[str], at: datetime) -> None:
        for row in self.account.engine.rows("transaction"):
            if row.get("otherrefnum") in refs:
                self.account.touch(int(row["id"]), at)

    def expire_sessions(self) -> None:
        self.tokens.clear()

    def native_code(self, kind: str, code: str) -> str:
        return code

    def credentials(self) -> dict[str, str]:
        """The demo profile's secret (auth m2m), then those an `auth = tba` profile of the
        same account uses (printed by `sandbox`, public like every sandbox credential)."""
        return {"private_key": demo_key_pem(), **DEMO_TBA}

    def native(self) -> Any:
        return {table: self.account.engine.rows(table) for table in SCHEMA}

    def writes_json(self) -> bytes:
        return json.dumps(self.writes, default=str).encode()

    def clear_writes(self) -> int:
        cleared = len(self.writes)
        self.writes.clear()
        return cleared

    def bump(self, entity: str, record_id: str) -> dict[str, Any]:
        """Someone else saves the record (same values): its lastModifiedDate moves."""
        kind = RECORD_TYPES.get(entity.lower())
        rows = self.account.engine.rows("transaction", id=int(record_id)) \
            if record_id.isdigit() and kind else []
        if not rows or rows[0]["type"] != kind:
            raise KeyError(f"no {entity} {record_id}")
        self._modified(int(record_id))
        return self._rest(self.account.engine.rows("transaction", id=int(record_id))[0],
                          entity)

    def fail_writes(self, count: int = 1, *, status: int = 503, after: bool = False) -> None:
        """The next `count` writes fail with `status`: before anything is done, or (`after`)
        once the change is made, as when the answer is lost on the way back."""
        self._failures.extend([(status, after)] * max(0, count))

    def _modified(self, ident: int) -> None:
        """lastModifiedDate moves to now, and always forward (its resolution is a second)."""
        row = self.account.engine.rows("transaction", id=ident)[0]
        before = _moment(str(row["lastmodifieddate"]).replace(" ", "T") + "Z")
        now = max(datetime.now(UTC).replace(microsecond=0), before + timedelta(seconds=1))
        self.account.touch(ident, now)

    # -- the record service (§1.1, §6.1) -------------------------------------------------

    def _rest(self, row: dict[str, Any], entity: str) -> dict[str, Any]:
        """A transaction as the REST record service sends it (camelCase, references as
        objects, datetimes ISO 8601 UTC: §4, §6.1); lines are links only (§8 S4)."""
        ident = str(row["id"])
        kind = row["type"]
        def day(value: Any) -> str | None:
            return str(value) if value is not None else None
        def stamp_iso(value: Any) -> str | None:
            return str(value).replace(" ", "T") + "Z" if value is not None else None
        body: dict[str, Any] = {
            "links": [{"rel": "self", "href": f"{RECORDS_HREF}/{entity}/{ident}"}],
            "id": ident, "tranId": row.get("tranid"),
            "tranDate": day(row.get("trandate")),
            "createdDate": stamp_iso(row.get("createddate")),
            "lastModifiedDate": stamp_iso(row.get("lastmodifieddate")),
            "status": {"id": row.get("status"),
                       "refName": STATUS_TEXT.get(kind, {}).get(str(row.get("status")),
                                                                 row.get("status"))},
            "otherRefNum": row.get("otherrefnum"), "externalId": row.get("externalid"),
            "memo": row.get("memo"), "custbody_return_ref": row.get("custbody_return_ref"),
            "item": {"links": [{"rel": "self",
                                "href": f"{RECORDS_HREF}/{entity}/{ident}/item"}]},
        }
        if row.get("entity") is not None:
            body["entity"] = {"id": str(row["entity"])}
        return {k: v for k, v in body.items() if v is not None}

    def _journal(self, request: Request, body: bytes, status: int) -> None:
        try:
            parsed: Any = json.loads(body, parse_float=Decimal) if body else None
        except ValueError:
            parsed = body.decode(errors="replace")
        mount = request.scope.get("root_path", "").rstrip("/")
        self.writes.append({
            "method": request.method, "path": request.url.path.removeprefix(mount),
            "query": dict(request.query_params),
            "headers": {k: v for k, v in request.headers.items()
                        if k.lower() not in SECRET_HEADERS},
            "body": parsed, "status": status})

    async def _record(self, request: Request) -> Response:
        refused = await self._gate(request)
        if refused is not None:
            return refused
        entity = request.path_params["kind"]
        kind = RECORD_TYPES.get(entity.lower())
        ident = request.path_params["ident"]
        rows = self.account.engine.rows("transaction", id=int(ident)) \
            if ident.isdigit() and kind else []
        if ident.startswith("eid:") and kind:  # an external id wherever an id goes (§6.1)
            rows = [r for r in self.account.engine.rows("transaction", type=kind)
                    if r.get("externalid") == ident[len("eid:"):]]
        if request.method == "GET":
            if not rows or rows[0]["type"] != kind:
                return error_response(404, "NONEXISTENT_ID", "Record does not exist.",
                                      title="Not Found")
            record = self._rest(rows[0], entity)
            fields = request.query_params.get("fields")
            if fields:
                wanted = {f.strip() for f in fields.split(",")} | {"links"}
                record = {k: v for k, v in record.items() if k in wanted}
            return JSONResponse(record)
        raw = await request.body()
        status, response = self._patch(request, rows, kind, entity, raw)
        self._journal(request, raw, status)
        return response

    def _patch(self, request: Request, rows: list[dict[str, Any]], kind: str | None,
               entity: str, raw: bytes) -> tuple[int, Response]:
        if not rows or rows[0]["type"] != kind:
            return 404, error_response(404, "NONEXISTENT_ID", "Record does not exist.",
                                       title="Not Found")
        values = _body_fields(request, raw, empty_ok=False)
        if isinstance(values, tuple):
            return values
        failure = self._failures.pop(0) if self._failures else None
        if failure is not None and not failure[1]:
            return failure[0], _server_error_status(failure[0])
        ident = int(rows[0]["id"])
        self.account.engine.update("transaction", {"id": ident}, values)
        self._modified(ident)
        if failure is not None:
            return failure[0], _server_error_status(failure[0])
        return _saved(request, entity, ident)

    # -- transform (§5.2): a credit memo from a return authorization ----------------------

    async def _transform(self, request: Request) -> Response:
        refused = await self._gate(request)
        if refused is not None:
            return refused
        raw = await request.body()
        target = request.path_params["target"].lower()
        if target == "itemreceipt":
            status, response = self._receipt_from(request, raw)
        else:
            status, response = self._credit_from(request, raw)
        self._journal(request, raw, status)
        return response

    def _receipt_from(self, request: Request, raw: bytes) -> tuple[int, Response]:
        """What the RA's Receive button makes (§5.1, §5.2), as this simulator reads the
        docs: the receipt is pre-filled with the RA's open lines (units still to receive),
        numbered 1, 2, ... in the order of the RA's form; a body line with `line` n changes the n-th
        (`itemReceive`, `quantity`, `restock`, `location`); a line the body leaves out is
        received whole and restocked (the worst reading of what the docs leave open, so a
        client that leaves lines out is seen to). The RA's lines' `quantityshiprecv` move
        and its status follows (Pending Refund when all came back, else Partially
        Received). Refused while the RA awaits approval or is closed, cancelled or
        refunded, and with nothing left to receive."""
        entity = request.path_params["kind"]
        ident = request.path_params["ident"]
        if entity.lower() != "returnauthorization":
            return 405, error_response(405, "INVALID_REQUEST", "The sandbox transforms a "
                                       "return authorization only.",
                                       title="Method Not Allowed")
        rows = self.account.engine.rows("transaction", id=int(ident)) \
            if ident.isdigit() else []
        if not rows or rows[0]["type"] != "RtnAuth":
            return 404, error_response(404, "NONEXISTENT_ID", "Record does not exist.",
                                       title="Not Found")
        try:
            body = json.loads(raw) if raw else {}
        except ValueError:
            body = None
        if not isinstance(body, dict):
            return 400, error_response(400, "INVALID_REQUEST", MALFORMED, title="Bad Request")
        strict = request.headers.get("x-netsuite-propertynamevalidation",
                                     "warning").lower() == "error"
        sublist = body.pop("item", None) or {}
        items = sublist.get("items") if isinstance(sublist, dict) else None
        if items is not None and not isinstance(items, list):
            return 400, error_response(400, "INVALID_REQUEST", MALFORMED, title="Bad Request")
        for line in items or []:
            unknown = [k for k in (line if isinstance(line, dict) else {"?": 0})
                       if k not in _RECEIPT_LINE_FIELDS]
            if unknown and strict:
                return 400, error_response(
                    400, "INVALID_CONTENT", f"Error while accessing a resource. Invalid field "
                    f"name: item.{unknown[0]}", title="Bad Request", path=f"item.{unknown[0]}")
        values = _body_fields(request, json.dumps(body).encode(), empty_ok=True)
        if isinstance(values, tuple):
            return values
        ra = rows[0]
        why = {"A": "it is pending approval", "C": "it is cancelled", "H": "it is closed",
               "G": "it is refunded"}.get(str(ra["status"]))
        open_lines = [
            ln for ln in self.account.engine.rows("transactionline", transaction=ra["id"])
            if ln.get("mainline") != "T" and ln.get("taxline") != "T" and ln.get("item")
            and ln.get("isclosed") != "T" and abs(Decimal(ln.get("quantity") or 0))
            > Decimal(ln.get("quantityshiprecv") or 0)]
        # in the order of the form (its line sequence), which a line inserted later breaks
        # away from the ids' order
        open_lines.sort(key=lambda ln: int(ln.get("linesequencenumber") or ln["id"]))
        if why is None and not open_lines:
            why = "nothing on it is left to receive"
        if why is not None:
            return 400, error_response(400, "USER_ERROR", f"You cannot receive return "
                                       f"authorization {ra['tranid']}: {why}.",
                                       title="Bad Request")
        eid = values.get("externalid")
        if eid and any(r.get("externalid") == eid
                       for r in self.account.engine.rows("transaction", type="ItemRcpt")):
            return 400, error_response(400, "USER_ERROR", "This entity already exists.",
                                       title="Bad Request")
        # the pre-filled lines: every open line, all its units still to come, restocked
        plan: list[dict[str, Any]] = [{"row": ln, "receive": True, "restock": True,
                 "quantity": abs(Decimal(ln.get("quantity") or 0))
                 - Decimal(ln.get("quantityshiprecv") or 0)} for ln in open_lines]
        for line in items or []:
            n = line.get("line")
            if not isinstance(n, int) or isinstance(n, bool) or not 1 <= n <= len(plan):
                return 400, error_response(400, "USER_ERROR", f"Invalid line: {n}.",
                                           title="Bad Request")
            target = plan[n - 1]
            if "itemReceive" in line:
                target["receive"] = bool(line["itemReceive"])
            if "restock" in line:
                target["restock"] = bool(line["restock"])
            if "quantity" in line:
                try:
                    quantity = Decimal(str(line["quantity"]))
                except ArithmeticError:
                    quantity = Decimal(0)
                if not quantity.is_finite() or quantity <= 0 \
                        or quantity > target["quantity"]:
                    return 400, error_response(
                        400, "USER_ERROR", f"You cannot receive {quantity} on line {n}: "
                        f"{target['quantity']} remain.", title="Bad Request")
                target["quantity"] = quantity
        taken = [t for t in plan if t["receive"]]
        if not taken:
            return 400, error_response(400, "USER_ERROR", "You must enter at least one line "
                                       "item for this transaction.", title="Bad Request")
        failure = self._failures.pop(0) if self._failures else None
        if failure is not None and not failure[1]:
            return failure[0], _server_error_status(failure[0])
        made = self._item_receipt(ra, taken, values)
        if failure is not None:
            return failure[0], _server_error_status(failure[0])
        return _saved(request, "itemreceipt", made)

    def _item_receipt(self, ra: dict[str, Any], taken: list[dict[str, Any]],
                      values: dict[str, Any]) -> int:
        a = self.account
        now = max(datetime.now(UTC).replace(microsecond=0), a.clock)
        lines = [{"item": t["row"].get("item"), "itemtype": t["row"].get("itemtype"),
                  "quantity": _text(t["quantity"]), "location": t["row"].get("location"),
                  "isinventoryaffecting": "T"} for t in taken]
        made = a.document("ItemRcpt", now, status="A", entity=ra.get("entity"), link=None,
                          lines=lines, created_from=int(ra["id"]))
        a.engine.update("transaction", {"id": made},
                        {"otherrefnum": None, "custbody_return_ref": None, **values})
        for n, t in enumerate(taken, start=1):
            a.restocked[(made, n)] = t["restock"]
            row = t["row"]
            a.engine.update("transactionline", {"transaction": ra["id"], "id": row["id"]}, {
                "quantityshiprecv": _text(Decimal(row.get("quantityshiprecv") or 0)
                                          + t["quantity"])})
        left = [ln for ln in a.engine.rows("transactionline", transaction=ra["id"])
                if ln.get("mainline") != "T" and ln.get("taxline") != "T" and ln.get("item")
                and abs(Decimal(ln.get("quantity") or 0))
                > Decimal(ln.get("quantityshiprecv") or 0)]
        a.set_status(int(ra["id"]), "RtnAuth", "D" if left else "F", now)
        return made

    def _credit_from(self, request: Request, raw: bytes) -> tuple[int, Response]:
        """What the RA's Refund button makes: a credit memo of what was received, at the
        RA's rates, created from it; the RA moves to Refunded (all received) or Pending
        Refund/Partially Received. Refused while the RA awaits approval, once it is closed,
        cancelled or refunded, and with nothing received (refund in advance is off)."""
        entity, target = request.path_params["kind"], request.path_params["target"]
        if entity.lower() != "returnauthorization" or target.lower() != "creditmemo":
            return 405, error_response(405, "INVALID_REQUEST", "The sandbox transforms a "
                                       "return authorization into a credit memo only.",
                                       title="Method Not Allowed")
        ident = request.path_params["ident"]
        rows = self.account.engine.rows("transaction", id=int(ident)) \
            if ident.isdigit() else []
        if not rows or rows[0]["type"] != "RtnAuth":
            return 404, error_response(404, "NONEXISTENT_ID", "Record does not exist.",
                                       title="Not Found")
        values = _body_fields(request, raw, empty_ok=True)
        if isinstance(values, tuple):
            return values
        ra = rows[0]
        # §5.1: "A return can't be received, credited, or refunded until the authorization
        # is approved." The code and text NetSuite answers with are not documented (§5.2).
        why = {"A": "it is pending approval", "C": "it is cancelled", "H": "it is closed",
               "G": "it is refunded"}.get(str(ra["status"]))
        lines = [ln for ln in self.account.engine.rows("transactionline", transaction=ra["id"])
                 if ln.get("mainline") != "T" and ln.get("taxline") != "T"]
        got = [(ln, Decimal(ln.get("quantityshiprecv") or 0)) for ln in lines]
        if why is None and not any(received > 0 for _, received in got):
            why = "nothing on it is received (you credit customers only for what you received)"
        if why is not None:
            return 400, error_response(400, "USER_ERROR", f"You cannot credit return "
                                       f"authorization {ra['tranid']}: {why}.",
                                       title="Bad Request")
        eid = values.get("externalid")
        if eid and any(r.get("externalid") == eid
                       for r in self.account.engine.rows("transaction", type="CustCred")):
            # NetSuite keeps an external id unique per record type (§6.1); its answer here
            # is not in Oracle's pages: USER_ERROR with the text third-party captures show
            return 400, error_response(400, "USER_ERROR", "This entity already exists.",
                                       title="Bad Request")
        failure = self._failures.pop(0) if self._failures else None
        if failure is not None and not failure[1]:
            return failure[0], _server_error_status(failure[0])
        made = self._credit_memo(ra, got, values)
        if failure is not None:
            return failure[0], _server_error_status(failure[0])
        return _saved(request, "creditmemo", made)

    def _credit_memo(self, ra: dict[str, Any], got: list[tuple[dict[str, Any], Decimal]],
                     values: dict[str, Any]) -> int:
        a = self.account
        now = max(datetime.now(UTC).replace(microsecond=0), a.clock)
        out: list[dict[str, Any]] = []
        ordered = sum((abs(Decimal(ln.get("quantity") or 0)) for ln, _ in got), Decimal(0))
        received = sum((r for _, r in got), Decimal(0))
        for line, quantity in got:
            if quantity <= 0:
                continue
            amount = Decimal(line.get("rate") or 0) * quantity
            out.append({"item": line.get("item"), "itemtype": line.get("itemtype"),
                        "quantity": _text(quantity), "rate": line.get("rate"),
                        "foreignamount": _text(amount), "netamount": _text(amount),
                        "location": line.get("location"), "isinventoryaffecting": "T"})
        tax = a.ra_tax.get(int(ra["id"]))
        if tax and ordered:
            out.append({"taxline": "T", "foreignamount": _text(
                (tax * received / ordered).quantize(Decimal("0.01")))})
        symbol = next((str(r["symbol"]) for r in a.engine.rows("currency", id=ra["currency"])),
                      LOCAL_CURRENCY)
        made = a.document("CustCred", now, status="A", entity=ra.get("entity"), link=None,
                          currency=symbol, lines=out, created_from=int(ra["id"]))
        a.engine.update("transaction", {"id": made},
                        {"otherrefnum": None, "custbody_return_ref": None, **values})
        whole = received >= ordered
        a.set_status(int(ra["id"]), "RtnAuth", "G" if whole else "E", now)
        return made

    # -- OAuth 2.0 client credentials (§2.1, §2.2) ---------------------------------------

    async def _token(self, request: Request) -> Response:
        self.token_requests += 1
        form = dict(parse_qsl((await request.body()).decode(errors="replace"),
                              keep_blank_values=True))
        if (form.get("grant_type") != "client_credentials"
                or form.get("client_assertion_type")
                != "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"):
            return _oauth_error("invalid_request", "unsupported grant or assertion type")
        refusal = self._refusal(str(form.get("client_assertion") or ""),
                                str(request.url))
        if refusal is not None:
            return _oauth_error("invalid_grant", refusal, status=401)
        token = secrets.token_urlsafe(32)
        self.tokens[token] = time.time() + TOKEN_SECONDS
        return JSONResponse({"access_token": token, "expires_in": TOKEN_SECONDS,
                             "token_type": "Bearer"})

    def _refusal(self, assertion: str, token_url: str) -> str | None:
        try:
            head, body, signature = assertion.split(".")
            header = json.loads(_b64(head))
            claims = json.loads(_b64(body))
        except (ValueError, json.JSONDecodeError):
            return "the client assertion is not a JWT"
        if header.get("alg") not in ("PS256", "PS384", "PS512", "ES256", "ES384", "ES512"):
            return f"signing algorithm {header.get('alg')!r} is not accepted"
        key = self.certificates.get(str(header.get("kid")))
        if key is None:
            return "no certificate with this id is mapped to the integration"
        try:
            signed = _b64(signature)
        except ValueError:
            return "the assertion's signature does not match the certificate"
        refused = signature_refusal(header.get("alg"), key, f"{head}.{body}".encode("ascii"),
                                    signed)
        if refused is not None:
            return refused
        now = time.time()
        issued, expires = claims.get("iat"), claims.get("exp")
        if claims.get("iss") != self.client_id:
            return "unknown client id"
        if not isinstance(issued, int) or not isinstance(expires, int) or expires <= now \
                or expires - issued >= 3600 or issued > now + 300:
            return "the assertion's exp must be less than 60 minutes after its iat, around now"
        audience = claims.get("aud")
        if audience != token_url and not (isinstance(audience, list) and token_url in audience):
            return "the assertion's aud is not this token endpoint"
        scope = claims.get("scope")
        scopes = scope if isinstance(scope, list) else str(scope or "").split(",")
        if "rest_webservices" not in {s.strip() for s in scopes}:
            return "the assertion's scope does not include rest_webservices"
        return None

    def _authorised(self, request: Request) -> bool:
        header = request.headers.get("authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme == "OAuth":  # Token-Based Authentication: signed per request (§2.3)
            return self.tba.refusal(request.method, signed_url(request), header) is None
        expires = self.tokens.get(token) if scheme.lower() == "bearer" else None
        return expires is not None and expires > time.time()

    async def _gate(self, request: Request) -> Response | None:
        """Counted, then the bearer token checked, then the sandbox's faults: the answer
        that stops the request, or None."""
        self.requests += 1
        if not self._authorised(request):
            return _unauthorised(self.account_id)
        return await self.faults.before(request, _server_error, _concurrency)

    async def _suiteql(self, request: Request) -> Response:
        refused = await self._gate(request)
        return refused if refused is not None else await self.endpoint.handle(request)

    async def _not_simulated(self, request: Request) -> Response:
        self.requests += 1
        if not self._authorised(request):
            return _unauthorised(self.account_id)
        return error_response(405, "INVALID_REQUEST",
                              "The sandbox does not serve the record service yet.",
                              title="Method Not Allowed")


def _saved(request: Request, entity: str, ident: int) -> tuple[int, Response]:
    """A write's answer: 204, no body, the record's URL in `Location` (§6.1)."""
    mount = request.scope.get("root_path", "").rstrip("/")
    location = (f"{request.url.scheme}://{request.url.netloc}{mount}"
                f"/services/rest/record/v1/{entity}/{ident}")
    return 204, Response(status_code=204, headers={"Location": location})


def _body_fields(request: Request, raw: bytes, *, empty_ok: bool
                 ) -> dict[str, Any] | tuple[int, Response]:
    """A write's body fields as SuiteQL columns (§6.1), or NetSuite's refusal: not a JSON
    object, a field it does not know while `X-NetSuite-PropertyNameValidation: error`, a
    text field given something else."""
    try:
        body = json.loads(raw) if raw or not empty_ok else {}
    except ValueError:
        body = None
    if not isinstance(body, dict) or (not body and not empty_ok):
        return 400, error_response(400, "INVALID_REQUEST", MALFORMED, title="Bad Request")
    unknown = [k for k in body if k not in PATCHABLE]
    if unknown and request.headers.get("x-netsuite-propertynamevalidation",
                                       "warning").lower() == "error":
        return 400, error_response(
            400, "INVALID_CONTENT", f"Error while accessing a resource. Invalid field "
            f"name: {unknown[0]}", title="Bad Request", path=unknown[0])
    values = {PATCHABLE[k]: v for k, v in body.items() if k in PATCHABLE}
    if any(v is not None and not isinstance(v, str) for v in values.values()):
        return 400, error_response(400, "INVALID_FLD_VALUE", "You have entered an "
                                   "Invalid Field Value for a text field.",
                                   title="Bad Request")
    return values


def _oauth_error(error: str, description: str, status: int = 400) -> Response:
    return JSONResponse({"error": error, "error_description": description},
                        status_code=status)


def _unauthorised(account_id: str) -> Response:
    """§2.1: the WWW-Authenticate header names the realm (the account) and the error;
    the body is the error envelope (§7.2 A)."""
    response = error_response(
        401, "INVALID_LOGIN",
        "Invalid login attempt. For more details, see the Login Audit Trail in the NetSuite "
        "UI at Setup > Users/Roles > User Management > View Login Audit Trail.",
        title="Unauthorized")
    response.headers["WWW-Authenticate"] = (
        f'Bearer realm="{account_id}", error="invalid_token", '
        'error_description="Invalid login attempt."')
    return response


def _server_error_status(status: int) -> Response:
    return error_response(status, "UNEXPECTED_ERROR",
                          "An unexpected error occurred. Error ID: sandboxwrite0000",
                          title="Internal Server Error")


def _server_error() -> Response:
    return error_response(500, "UNEXPECTED_ERROR",
                          "An unexpected error occurred. Error ID: sandboxfault0000",
                          title="Internal Server Error")


def _concurrency(retry_after: float) -> Response:
    """§7.2 E (its printed JSON is missing a comma; this is the same body, valid). No
    Retry-After is documented; the sandbox sends one so a test need not wait long."""
    response = error_response(429, "CONCURRENCY_LIMIT_EXCEEDED",
                              "Concurrent request limit exceeded. Request blocked.",
                              title="Bad Request")
    response.headers["Retry-After"] = f"{retry_after:g}"
    return response


def build(snapshot: dict, *, faults: Faults | None = None, **knobs: Any) -> NetSuiteSimulator:
    """The simulator loaded with a canonical scenario's ERP side."""
    if knobs:
        raise TypeError(f"the NetSuite simulator takes no {', '.join(knobs)}")
    return NetSuiteSimulator(render(snapshot), faults=faults)
