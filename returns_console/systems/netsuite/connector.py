"""NetSuite's REST web services, read (docs/shopify-netsuite-mapping.md, "NetSuite").

Authentication: OAuth 2.0 client credentials, the client proving itself with a JWT signed
by its certificate's private key (docs/vendors/netsuite.md §2.1-2.2). Reads: SuiteQL
(`suiteql.py`, `queries.py`): one query for the return documents, one row per line, laid
together into documents (`records.py`) and grouped into one view per link key
(`mapping.py`); master data from a few small queries. A document that does not validate is
a payload problem under its link key, never an exception.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any, NamedTuple

from pydantic import SecretStr, ValidationError

from ...connectors.base import ErpBatch, ReadAgain
from ...connectors.errors import AuthError, RequestError
from ...connectors.http import Auth, CallLog, HttpClient, RetryPolicy
from ...connectors.pacing import Pacer
from ...connectors.signing import JwtClientAssertion, OAuth1Tba
from ...connectors.validation import describe
from ...domain.codes import Side, Stage
from ...domain.model import ErpView, PayloadProblem
from ...domain.pace import breathe
from ...domain.reference import AccountingPeriod, Customer, ErpMaster, Item
from . import queries as q
from .mapping import RETURN, SYSTEM, Assembler, MappingSettings, group_documents
from .records import NsDocument
from .suiteql import SuiteQL, error_text, rate_limited

TOKEN_PATH = "/services/rest/auth/oauth2/v1/token"
#: What a re-queue can create here: a credit memo and (with Advanced Receiving) an item
#: receipt, each transformed from the return authorization (writer.py, §5.2). A return
#: authorization or a replacement order is not made by the console: each such finding says
#: what to do in NetSuite (§5.1).
CREATES: frozenset[str] = frozenset({"credit_note", "receipt"})
INSTEAD = {
    "CREDIT_NOTE_MISSING": "In NetSuite, open the return authorization and click Refund: it "
    "makes the credit memo (or cash refund) from it, carrying its reference; credit only what "
    "was received.",
    "RETURN_ORDER_MISSING": "In NetSuite, create the return authorization from the sales "
    "order (Authorize Return) with the return's reference in its link field, and approve it.",
    "RETURN_ORDER_NOT_OPEN": "In NetSuite, approve the return authorization (Approve Return "
    "Authorizations, or Approve on the record): it cannot be received until approved.",
    "RECEIPT_NOT_POSTED": "In NetSuite, open the return authorization and click Receive: "
    "save the item receipt with the quantities that arrived (Restock for what goes back on "
    "sale).",
    "EXCHANGE_ORDER_MISSING": "In NetSuite, create the replacement sales order with the "
    "return's reference in its link field.",
    "QUANTITY_MISMATCH.ordered": "In NetSuite, correct the line on the return authorization "
    "(or add the missing one) before it is received.",
    "QUANTITY_MISMATCH.received": "In NetSuite, correct the item receipt made from the return "
    "authorization (edit its quantities, or delete it and Receive again).",
}
_ITEM_TYPES = {"invtpart": "inventory", "assembly": "inventory", "kit": "inventory",
               "service": "service"}
#: What each document type's raw record is filed as.
_KINDS = {"RtnAuth": "returnAuthorization", "ItemRcpt": "itemReceipt",
          "CustCred": "creditMemo", "CashRfnd": "cashRefund", "SalesOrd": "salesOrder"}
_STAGE_OF = {"RtnAuth": Stage.AUTHORISED, "ItemRcpt": Stage.RECEIVED,
             "CustCred": Stage.CREDITED, "CashRfnd": Stage.CREDITED,
             "SalesOrd": Stage.EXCHANGED}
#: Documents whose lines, within the window, keep their RA in it (queries._window).
_CHAINED = frozenset({"ItemRcpt", "CustCred", "CashRfnd"})
#: A `lastmodifieddate` as read (TO_CHAR 'YYYY-MM-DD HH24:MI:SS', taken as UTC: U5).
_STAMP = re.compile(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}")
#: An internal id as SuiteQL sends it (text of ASCII digits).
_ID = re.compile(r"[0-9]{1,19}")
#: Master-data queries and the column that names each row.
MASTER = {"items": "itemid", "customers": "entityid", "periods": "startdate",
          "locations": "name", "payment_methods": "name", "reasons": "name"}
_HEADER = ("id", "type", "tranid", "status", "statustext", "createddate",
           "lastmodifieddate", "trandate", "link", "otherrefnum", "postingperiod", "periodstart",
           "currency", "customer")


class TbaCredentials(NamedTuple):
    """Token-Based Authentication's four values (§2.3): the integration record's consumer
    key and secret, and the access token's id and secret (one user and role)."""

    consumer_key: SecretStr
    consumer_secret: SecretStr
    token_id: SecretStr
    token_secret: SecretStr


class NetSuiteSettings:
    def __init__(self, *, base_url: str, account_id: str, client_id: str = "",
                 certificate_id: str = "", private_key: SecretStr | str = "",
                 tba: TbaCredentials | None = None, token_url: str = "",
                 scope: str = "rest_webservices", link_field: str = "otherRefNum",
                 history_days: int = 365, page_size: int = 1000, max_concurrency: int = 2,
                 bound_parameters: bool = True,
                 overlap_s: int = 300,
                 reason_list: str = "customlist_return_reason", location_key: str = "name",
                 mapping: MappingSettings | None = None, timeout: float = 60.0,
                 receipt_fields: tuple[str, str] = ("itemReceive", "restock")) -> None:
        self.base_url = base_url.rstrip("/")
        self.account_id = account_id
        self.client_id = client_id
        self.certificate_id = certificate_id
        self.private_key = private_key
        #: Token-Based Authentication instead of the certificate (auth tba, §2.3).
        self.tba = tba
        self.token_url = token_url or f"{self.base_url}{TOKEN_PATH}"
        self.scope = scope
        #: The body field that carries the link (REST), and its SuiteQL column.
        self.link_field = link_field
        self.link_column = link_field.lower()
        self.history_days = history_days
        #: A refresh reads what was modified since this long before its cursor.
        self.overlap_s = overlap_s
        self.page_size = page_size
        self.bound_parameters = bound_parameters
        self.max_concurrency = max_concurrency
        self.reason_list = reason_list
        self.location_key = location_key
        self.mapping = mapping or MappingSettings()
        self.timeout = timeout
        #: The REST names of an item receipt line's Receive and Restock boxes (§4.3, U13).
        self.receipt_fields = receipt_fields


class NetSuiteConnector:
    system = SYSTEM

    def __init__(self, settings: NetSuiteSettings, *, log: CallLog | None = None,
                 transport: Any = None, retry: RetryPolicy | None = None,
                 pacer: Pacer | None = None, sleep: Any = None) -> None:
        self.settings = settings
        self.auth: Auth
        if settings.tba is not None:  # realm: the account id as NetSuite spells it (§2.3)
            self.auth = OAuth1Tba(settings.account_id, *settings.tba)
        else:
            try:  # PS256 for an RSA certificate, ES256/384/512 for an EC one (§2.2)
                self.auth = JwtClientAssertion(
                    settings.token_url, settings.client_id, settings.private_key,
                    key_id=settings.certificate_id, scope=settings.scope,
                    scope_in="assertion")
            except ValueError as exc:  # says what is wrong with the key, never the key
                self.auth = _Unusable(str(exc), settings.private_key)
        self.http = HttpClient(
            SYSTEM, settings.base_url, auth=self.auth, timeout=settings.timeout,
            concurrency=settings.max_concurrency, retry=retry, log=log,
            error_parser=error_text, transport=transport, sleep=sleep, pacer=pacer,
            throttled=rate_limited)
        self.sql = SuiteQL(self.http, SYSTEM, settings.page_size,
                           bound=settings.bound_parameters)

    # -- reads ---------------------------------------------------------------------------

    async def fetch_records(self, *, updated_since: datetime | None = None,
                            keep_pages: bool = True) -> ErpBatch:
        """Every return document within `history_days` and the master data; with
        `updated_since`, the documents and customers modified since then (less
        `overlap_s`), the small master sets whole, and the window's tally (`queries.tally`:
        a deleted document leaves no row, so `merge` checks what it holds against it).
        The cursor is the latest `lastmodifieddate` read (NetSuite's own clock) less the
        time the read took: a page read early may hold a document saved again after it was
        read, stamped before the latest stamp a later page carried."""
        fetched_at = datetime.now(UTC)
        since = (fetched_at - timedelta(days=self.settings.history_days)).date().isoformat()
        link, where = self.settings.link_column, self.settings.location_key
        changed = None if updated_since is None else (
            updated_since - timedelta(seconds=self.settings.overlap_s)
        ).astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")
        names = ["documents", "items", "customers", "periods", "locations", "payment_methods"]
        queries = [q.documents(link, since, where, changed), q.items(),
                   q.customers(changed), q.periods(), q.locations(), q.payment_methods()]
        if changed is not None:
            names.append("tally")
            queries.append(q.tally(link, since))
        found, (reasons, notice) = await asyncio.gather(
            asyncio.gather(*(self._all(query) for query in queries)), self._reasons())
        raw: dict[str, list[Any]] = dict(zip(names, found, strict=True))
        raw["reasons"] = list(reasons)
        counted = raw.pop("tally", None)
        batch = self.assemble(raw, fetched_at)
        stamps = [r.get("lastmodifieddate") for name in ("documents", "customers")
                  for r in raw[name] if isinstance(r, Mapping)]
        newest = max((s for s in stamps if isinstance(s, str) and _STAMP.fullmatch(s)),
                     default=None)
        took = datetime.now(UTC) - fetched_at
        batch.cursor = (datetime.fromisoformat(f"{newest.replace(' ', 'T')}+00:00") - took
                        ).isoformat() if newest else (
            updated_since.astimezone(UTC).isoformat() if updated_since else None)
        if counted is not None:
            row = counted[0] if counted and isinstance(counted[0], Mapping) else {}
            batch.tally = {"since": since, "documents": row.get("documents") or "0",
                           "idsum": row.get("idsum") or "0"}
        if notice:
            batch.notices.append(notice)
        return batch

    async def _reasons(self) -> tuple[list[Any], str | None]:
        """The return reasons' custom list, if the profile names one that exists: NetSuite
        has none of its own, and an account without one is not a source that is down."""
        table = self.settings.reason_list
        if table.casefold() == "none":
            return [], None
        try:
            return await self._all(q.reasons(table)), None
        except RequestError as exc:
            return [], (f"NetSuite: the return reasons list {table} could not be read "
                        f"({exc.detail or exc}); return reasons are not checked (set the "
                        "option reason_list, or none)")

    async def _all(self, query: q.Query) -> list[Any]:
        rows: list[Any] = []
        async for page in self.sql.pages(query):
            rows.extend(page)
        return rows

    def assemble(self, rows: Mapping[str, list[Any]], fetched_at: datetime | None,
                 documents: list[Any] | None = None) -> ErpBatch:
        """Rows as read → the batch: documents laid together (or `documents` as kept),
        views, master data. Each document and master row is kept under its raw_ref
        (what drill-down shows and `from_raw` reads again)."""
        batch = ErpBatch(fetched_at=fetched_at)
        batch.master = self.master(rows, batch)
        if documents is None:
            documents = documents_of(rows.get("documents") or [])
        docs: list[NsDocument] = []
        raw_refs: dict[str, str] = {}
        for n, raw in enumerate(documents):
            breathe()
            ident = raw.get("id") if isinstance(raw, Mapping) else None
            kind = _KINDS.get(str(raw.get("type")), "transaction") if isinstance(
                raw, Mapping) else "transaction"
            raw_ref = f"{SYSTEM}:{kind}:{ident if isinstance(ident, str) else f'?{n}'}"
            batch.raw[raw_ref] = raw
            try:
                doc = NsDocument.model_validate(raw)
            except ValidationError as exc:
                said = raw if isinstance(raw, Mapping) else {}
                number = _text(said.get("tranid")) or _text(ident) or "?"
                key = _text(said.get("link")) or number
                batch.problems.setdefault(key, []).append(PayloadProblem(
                    side=Side.ERP, record_id=number, stage=_STAGE_OF.get(str(said.get("type"))),
                    error=describe(exc), raw_ref=raw_ref))
                continue
            docs.append(doc)
            raw_refs[doc.id] = raw_ref
        ras = {d.id: d for d in docs if d.type == RETURN}
        assembler = Assembler(self.settings.mapping, ras)
        for group in group_documents(docs).values():
            breathe()
            batch.views[group.key] = assembler.view(group, raw_refs)
        for key in batch.problems:
            if not any(k.casefold() == key.casefold() for k in batch.views):
                batch.views[key] = ErpView(system=SYSTEM, return_ref=key)
        return batch

    def master(self, rows: Mapping[str, list[Any]], batch: ErpBatch) -> ErpMaster:
        """Master data from its rows, each kept under its raw_ref; a row that is not what
        SuiteQL sends (an object of text values with its key column) is skipped, with a
        notice saying so."""
        good = {name: self._master_rows(name, rows.get(name) or [], batch) for name in MASTER}

        def active(name: str) -> frozenset[str]:
            column = "id" if name == "locations" and self.settings.location_key == "id" \
                else MASTER[name]
            return frozenset(r[column] for r in good[name]
                             if r.get(column) and r.get("isinactive") != "T")

        items = {r["itemid"]: Item(
            number=r["itemid"], blocked=r.get("isinactive") == "T",
            base_uom=r.get("stockunit") or None,
            type=_ITEM_TYPES.get((r.get("itemtype") or "").casefold(), "non_inventory"))
            for r in good["items"]}
        customers = {r["entityid"]: Customer(
            number=r["entityid"], email=r.get("email") or None,
            blocked="all" if r.get("isinactive") == "T" else "") for r in good["customers"]}
        periods = []
        for r in good["periods"]:
            if r.get("isadjust") == "T":
                continue
            try:
                start = datetime.strptime(r["startdate"], "%Y-%m-%d").date()
            except ValueError:
                batch.notices.append(f"NetSuite periods row {r.get('id', '?')} was skipped: "
                                     f"startdate {r['startdate']!r} is not YYYY-MM-DD")
                continue
            periods.append(AccountingPeriod(
                start=start, name=r.get("periodname") or None,
                closed=any(r.get(k) == "T" for k in ("closed", "arlocked", "alllocked"))))
        return ErpMaster(
            items=items, customers=customers, locations=active("locations"),
            reasons=active("reasons"), reasons_kept=bool(good["reasons"]),
            payment_methods=active("payment_methods"),
            periods=tuple(sorted(periods, key=lambda p: p.start)),
            creates=CREATES if self.settings.mapping.advanced_receiving
            else CREATES - {"receipt"}, instead=INSTEAD)

    def _master_rows(self, name: str, rows: list[Any], batch: ErpBatch
                     ) -> list[dict[str, str]]:
        key = MASTER[name]
        out: list[dict[str, str]] = []
        for n, row in enumerate(rows):
            ident = row.get("id") if isinstance(row, Mapping) else None
            ident = ident if isinstance(ident, str) and ident else f"?{n}"
            ref = f"{SYSTEM}:{name}:{ident}"
            if ref in batch.raw:  # the same id twice: keep both
                ref = f"{ref}#{n}"
            batch.raw[ref] = row
            if not isinstance(row, Mapping):
                bad = "not a JSON object"
            elif not isinstance(row.get(key), str) or not row[key].strip():
                bad = f"no {key}"
            elif any(v is not None and not isinstance(v, str)
                     for k, v in row.items() if k != "links"):
                bad = "a value is not text"
            else:
                out.append({k: v for k, v in row.items() if isinstance(v, str)})
                continue
            batch.notices.append(f"NetSuite {name} row {ident} was skipped: {bad}")
        return out

    def from_raw(self, kept: ErpBatch) -> ErpBatch:
        rows: dict[str, list[Any]] = {name: [] for name in MASTER}
        documents = []
        for key, value in kept.raw.items():
            kind = key.split(":", 2)[1] if key.count(":") >= 2 else ""
            if kind in MASTER:
                rows[kind].append(value)
            else:
                documents.append(value)
        batch = self.assemble(rows, kept.fetched_at, documents)
        batch.cursor = kept.cursor
        # what the read said besides its records (a reasons list it could not read)
        batch.notices = list(dict.fromkeys([*kept.notices, *batch.notices]))
        return batch

    def merge(self, earlier: ErpBatch, changed: ErpBatch) -> ErpBatch:
        """The documents and customers read again laid over those held (by id), the small
        master sets as read now, kept to the window; then checked against the window's
        tally: a document NetSuite no longer counts (deleted, moved out of the window,
        changed to no return's) cannot be named by a read of what changed, so a mismatch
        raises ReadAgain and everything is read again. A full read replaces."""
        if changed.tally is None:
            return changed
        held_master, held = _split(earlier)
        read_master, read = _split(changed)
        # customers are read by what changed; the other master sets are small, read whole
        master = {name: ({**held_master[name], **read_master[name]}
                         if name == "customers" else read_master[name]) for name in MASTER}
        if _renamed(held_master, read_master):
            raise ReadAgain("NetSuite renamed an item, customer or location the documents "
                            "held name")
        documents = {**held, **read}
        kept = within_window(documents, changed.tally["since"])
        ids = [int(raw["id"]) for raw in kept.values()
               if isinstance(raw, Mapping) and _ID.fullmatch(str(raw.get("id", "")))]
        if (len(ids), sum(ids)) != (_number(changed.tally["documents"]),
                                    _number(changed.tally["idsum"])):
            raise ReadAgain("NetSuite counts other return documents than those held")
        merged = self.assemble({name: list(rows.values()) for name, rows in master.items()},
                               changed.fetched_at, list(kept.values()))
        merged.cursor = max(filter(None, (earlier.cursor, changed.cursor)), default=None)
        merged.notices = list(dict.fromkeys(changed.notices + merged.notices))
        return merged

    async def check_connection(self) -> str:
        rows = await self._first(q.locations())
        return (f"NetSuite account {self.settings.account_id}: reachable (SuiteQL answered, "
                f"{len(rows)} location{'s' if len(rows) != 1 else ''} on the first page)")

    async def _first(self, query: q.Query) -> list[Any]:
        async for page in self.sql.pages(query):
            return page
        return []

    async def aclose(self) -> None:
        await self.http.aclose()


class _Unusable:
    """The credentials as given cannot sign anything: every request fails with why."""

    def __init__(self, reason: str, key: SecretStr | str) -> None:
        self.reason = reason
        self.key = key.get_secret_value() if isinstance(key, SecretStr) else key

    async def headers(self, http: HttpClient) -> Mapping[str, str]:
        raise AuthError(SYSTEM, f"{self.reason}: give the private key of the certificate "
                                "mapped to the integration (PEM: RSA 3072 or 4096 bits, or EC "
                                "on P-256, P-384 or P-521)")

    async def refresh(self, http: HttpClient) -> bool:
        return False

    def secrets(self) -> list[str]:
        return [self.key] if self.key else []


def _number(text: Any) -> int | None:
    """A count or sum as SuiteQL sends it (text, §3.3); None if it is not a whole number."""
    try:
        value = Decimal(str(text))
    except ArithmeticError:
        return None
    return int(value) if value.is_finite() and value == value.to_integral_value() else None


def _renamed(held: Mapping[str, Mapping[str, Any]],
             read: Mapping[str, Mapping[str, Any]]) -> bool:
    """Whether a master row the held documents may name by its key column (an item's
    itemid, a customer's entityid, a location's name) reads differently now: a document
    shows it through a join and keeps its old stamp, so only a full read renames it there."""
    for name in ("items", "customers", "locations"):
        column = MASTER[name]
        for key, row in read[name].items():
            before = held[name].get(key)
            if isinstance(before, Mapping) and isinstance(row, Mapping) and \
                    before.get(column) != row.get(column):
                return True
    return False


def _split(batch: ErpBatch) -> tuple[dict[str, dict[str, Any]], dict[str, Any]]:
    """A batch's raw records: master rows by set, and documents, each by raw_ref."""
    master: dict[str, dict[str, Any]] = {name: {} for name in MASTER}
    documents: dict[str, Any] = {}
    for key, value in batch.raw.items():
        kind = key.split(":", 2)[1] if key.count(":") >= 2 else ""
        if kind in MASTER:
            master[kind][key] = value
        else:
            documents[key] = value
    return master, documents


def within_window(documents: Mapping[str, Any], since_day: str) -> dict[str, Any]:
    """The documents (by raw_ref) that `queries.documents` would give for a window from
    `since_day`: dated within it, or an RA with a receipt or refund made from it within
    it. (Which types are a return's is decided when each is read.)"""
    def day(raw: Any) -> str:
        value = raw.get("trandate") if isinstance(raw, Mapping) else None
        return value if isinstance(value, str) else ""

    made_from = {str(line.get("createdfrom")) for raw in documents.values()
                 if isinstance(raw, Mapping) and raw.get("type") in _CHAINED
                 and day(raw) >= since_day
                 for line in raw.get("lines") or () if isinstance(line, Mapping)}
    return {key: raw for key, raw in documents.items()
            if day(raw) >= since_day or (isinstance(raw, Mapping) and raw.get("type") ==
                                         "RtnAuth" and str(raw.get("id")) in made_from)}


def documents_of(rows: list[Any]) -> list[Any]:
    """SuiteQL rows (one per line, in `id` order) laid together: one record per
    transaction, its header columns once and its lines in a list. A row read twice (the
    same transaction and line) counts once; a row that is not an object is passed on as
    a record of its own, for the assembly to report."""
    out: list[Any] = []
    current: dict[str, Any] | None = None
    seen: set[tuple[Any, Any]] = set()
    for row in rows:
        if not isinstance(row, Mapping):
            out.append(row)
            continue
        key = (row.get("id"), row.get("line"))
        if key in seen:
            continue
        seen.add(key)
        if current is None or row.get("id") != current.get("id"):
            current = {k: row[k] for k in _HEADER if k in row}
            current["lines"] = []
            out.append(current)
        current["lines"].append({k: v for k, v in row.items() if k not in _HEADER})
    return out


def _text(value: Any) -> str | None:
    return value.strip() if isinstance(value, str) and value.strip() else None
