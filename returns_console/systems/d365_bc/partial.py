"""Which link keys an incremental read touches, so a refresh assembles only their views.

Business Central documents meet under a link key in three ways (see `_Assembler.assemble`):
by their own `externalDocumentNumber`; a return receipt by the return order its
`orderNumber` names; a credit memo's order reference through the invoice it applies to.
A record that did not validate is kept under its link or, lacking one, its number. The keys
here are a superset of those (case-folded): assembling a key again needlessly costs a
little, missing one would leave a stale view, so every doubt counts a key in.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from typing import Any

#: Sets whose records are master data, not documents of a return: when one of these
#: changes, every view may, and the whole batch is assembled again.
MASTER_SETS = frozenset({"items", "customers", "customerReturnReasons", "paymentMethods",
                         "accountingPeriods", "locations", "unitsOfMeasure"})
INVOICES = "salesInvoices"
ORDERS = "salesReturnOrders"
RECEIPTS = "returnReceipts"
MEMOS = "salesCreditMemos"
#: The key a record with no link, number or id is kept under.
UNKNOWN = "d365_bc-record-unknown"


def set_of(raw_ref: str) -> str:
    """The entity set of a raw_ref (`d365_bc:<set>:<id>`)."""
    return raw_ref.split(":", 2)[1]


def _text(record: Any, key: str) -> str:
    value = record.get(key) if isinstance(record, dict) else None
    return value.strip() if isinstance(value, str) else ""


_OWN = ("externalDocumentNumber", "number", "code", "id")


def own_keys(record: Any) -> set[str]:
    """The keys a record may count under by itself: its link, else (when it does not
    validate) its number, code or id; the id also as sent (a record with neither link nor
    number is kept under its id as it came, spaces and all, or as the text of a number)."""
    keys = set()
    if isinstance(record, dict):
        for name in _OWN:
            value = record.get(name)
            if isinstance(value, str) and (value := value.strip()):
                keys.add(value.casefold())
        if rid := record.get("id"):
            keys.add(str(rid).casefold())
    return keys or {UNKNOWN}


class Links:
    """Who refers to whom among a batch's raw records (one pass over them), and its
    document records by set, in the batch's order."""

    def __init__(self, raw: Mapping[str, Any]) -> None:
        self.orders: defaultdict[str, set[str]] = defaultdict(set)
        self.receipts: defaultdict[str, set[str]] = defaultdict(set)
        self.memos_by_invoice: defaultdict[str, set[str]] = defaultdict(set)
        self.by_set: defaultdict[str, list[Any]] = defaultdict(list)
        for ref, record in raw.items():
            name = set_of(ref)
            self.by_set[name].append(record)
            self.add(name, record)

    def add(self, name: str, record: Any) -> None:
        """Count `record` of set `name` in (an older version counts too: who referred to
        whom before the read matters as much as after)."""
        if name == ORDERS:
            self.orders[_text(record, "number")] |= own_keys(record)
        elif name == RECEIPTS:
            self.receipts[_text(record, "orderNumber")] |= own_keys(record)
        elif name == MEMOS:
            for link in _invoice_links(record):
                self.memos_by_invoice[link] |= own_keys(record)

    def keys(self, name: str, record: Any) -> set[str]:
        """Every key a record of set `name` may count under, or make others count under."""
        keys = own_keys(record)
        if name == RECEIPTS:
            keys |= self.orders.get(_text(record, "orderNumber"), set())
        elif name == ORDERS:
            # its receipts follow it from key to key (to the last order of that number)
            number = _text(record, "number")
            keys |= self.receipts.get(number, set()) | self.orders.get(number, set())
        elif name == INVOICES:
            for link in (_text(record, "id").casefold(), "#" + _text(record, "number")):
                keys |= self.memos_by_invoice.get(link, set())
        return keys


def _invoice_links(record: Any) -> list[str]:
    """How a credit memo names its invoice: by id (case-folded) or `#number`."""
    links = []
    if invoice_id := _text(record, "invoiceId"):
        links.append(invoice_id.casefold())
    if number := _text(record, "invoiceNumber"):
        links.append("#" + number)
    return links


def touched_keys(links: Links, before: Mapping[str, Any], after: Mapping[str, Any],
                 changed: Iterable[str]) -> tuple[set[str], bool] | None:
    """The (case-folded) keys whose views the difference between `before` and `after`
    (raw records by raw_ref; `links` made of `after`) may change, and whether master data
    changed (the master is made again; views read only the locations of it); None when
    the locations changed (every view may). `changed` names the records the read
    returned; those gone from `after` were deleted."""
    deleted = [ref for ref in before if ref not in after]
    moved = []
    master = False
    for ref in [*changed, *deleted]:
        old, new = before.get(ref), after.get(ref)
        if old == new:  # read again unchanged (reads overlap by a little, on purpose)
            continue
        name = set_of(ref)
        if name == "locations":
            return None
        if name in MASTER_SETS:
            master = True
            continue
        if old is not None:
            links.add(name, old)
        moved.append((name, old, new))
    keys: set[str] = set()
    for name, old, new in moved:
        for version in (old, new):
            if version is not None:
                keys |= links.keys(name, version)
    return keys, master


def master_rows(links: Links) -> dict[str, list[Any] | None]:
    """Every master record, by set, in the batch's order (to make the master again)."""
    return {name: links.by_set.get(name, []) for name in MASTER_SETS}


def subset(links: Links, keys: set[str]) -> dict[str, list[Any] | None]:
    """The records (by set, in the batch's order) that the views of `keys` are made of,
    with the invoices their credit memos name, and the locations (lines name them by id)."""
    rows: dict[str, list[Any] | None] = {"locations": links.by_set.get("locations", [])}
    named: set[str] = set()
    for name, records in links.by_set.items():
        if name == INVOICES or name in MASTER_SETS:
            continue
        chosen = [record for record in records if links.keys(name, record) & keys]
        if chosen:
            rows[name] = chosen
        if name == MEMOS:
            for record in chosen:
                named.update(_invoice_links(record))
    invoices = [record for record in links.by_set.get(INVOICES, ())
                if own_keys(record) & keys or _text(record, "id").casefold() in named
                or "#" + _text(record, "number") in named]
    if invoices:
        rows[INVOICES] = invoices
    return rows


def parts(links: Links, size: int) -> list[tuple[set[str], dict[str, list[Any] | None]]]:
    """Every key the batch's documents count under, in parts of `size` keys, each with the
    records its views are made of: for each part what `subset` would choose for its keys,
    found in one pass over the records. A record that may count under keys of several
    parts goes into each of them."""
    of_key: dict[str, int] = {}

    def placed(keys: set[str]) -> set[int]:
        found = set()
        for key in sorted(keys):  # a key's part does not depend on set iteration order
            part = of_key.get(key)
            if part is None:
                part = of_key[key] = len(of_key) // size
            found.add(part)
        return found

    documents: list[tuple[str, Any, set[int]]] = []
    for name, records in links.by_set.items():
        if name in MASTER_SETS:
            continue
        for record in records:
            keys = own_keys(record) if name == INVOICES else links.keys(name, record)
            documents.append((name, record, placed(keys)))
    count = -(-len(of_key) // size)
    out: list[tuple[set[str], dict[str, list[Any] | None]]] = [
        (set(), {"locations": links.by_set.get("locations", [])}) for _ in range(count)]
    for key, part in of_key.items():
        out[part][0].add(key)
    #: the parts whose credit memos name an invoice, by the invoice's id or `#number`
    named: defaultdict[str, set[int]] = defaultdict(set)
    for name, record, where in documents:
        if name == INVOICES:
            continue
        for part in where:
            _add(out[part][1], name, record)
        if name == MEMOS:
            for link in _invoice_links(record):
                named[link] |= where
    for name, record, where in documents:
        if name == INVOICES:
            for part in sorted(where | named.get(_text(record, "id").casefold(), set())
                               | named.get("#" + _text(record, "number"), set())):
                _add(out[part][1], name, record)
    return out


def _add(rows: dict[str, list[Any] | None], name: str, record: Any) -> None:
    chosen = rows.get(name)
    if chosen is None:
        chosen = rows[name] = []
    chosen.append(record)
