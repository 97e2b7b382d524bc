"""F&O's records in the record index (store/records.py): how each is filed, which link keys
a refresh (`open_plus_recent`, U19) touches, and the records a key's view is made of.

The relations are those `FoConnector.assemble` and `group_records` follow: a return order
files under its link; its lines and credit notes follow it by return order number; a credit
note of no return order read files under its own Customer reference; a document that does
not validate is a problem under the first of its link, its order's link, its reference, its
order number and its own number. Tags: `k:<key>` for every key a document could count
under by itself, `order:<number>` for a return order, `lines-of:<number>` for a line,
`invoice-of:<number>` for a credit note, `day:<date>` for the date a full read's window
judges a document by (a return order's deadline, a credit note's date), `open` for a return
order or line not closed, `set:dispositions` for the disposition codes (what a line's code
does), `odd-id` for a document without its key.

A refresh reads the master data whole and the open documents again: the index answers it
only where `FoConnector.merge` would lay it over the last read (master data as it was,
every open document read again, nothing without its key), and then gives exactly the views
a merged batch assembles for the keys it touched; otherwise None (check everything).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from pydantic_core import to_json

from ...connectors.base import ErpBatch, StoredRecords, Touch
from ...domain.pairing import link_of
from .connector import (
    _HEADER_DONE,
    _LINE_DONE,
    DOCUMENTS,
    EXACT,
    _before,
    _keyless,
    _name,
    exact_again,
    window_date,
)
from .mapping import SYSTEM
from .records import moment

ODD = "odd-id"
OPEN = "open"
DISPOSITIONS = "set:dispositions"
HEADERS, LINES, INVOICES = "headers", "lines", "invoices"
#: Fields whose value may be a key a document counts under: either field the option
#: `link_field` may name (tags must not depend on an option: a record filed under one
#: setting's keys would not be found under another's), and those a problem falls back on
#: (`_document`).
_OWN_KEYS = ("CustomersOrderReference", "CustomerRequisitionNumber", "ReturnOrderNumber",
             "SalesOrderNumber", "InvoiceNumber")


def _folded(value: Any) -> str:
    return str(value).strip().casefold() if value is not None else ""


def _order_of(name: str, record: Mapping[str, Any]) -> str:
    """The return order number a document belongs to (case-folded)."""
    return _folded(record.get("SalesOrderNumber" if name == INVOICES else "ReturnOrderNumber"))


def own_keys(record: Mapping[str, Any]) -> set[str]:
    """Every key a document could count under by itself, as pairing spells keys."""
    return {link_of(value) for field in _OWN_KEYS
            if isinstance(value := record.get(field), str) and value.strip()}


def record_tags(ref: str, record: Any) -> set[str]:
    name = _name(ref)
    if name not in DOCUMENTS:  # master data: compared whole by `touch`
        return {DISPOSITIONS} if name == "dispositions" else set()
    if _keyless(ref) or not isinstance(record, Mapping):
        return {ODD}
    tags = {f"k:{key}" for key in own_keys(record)}
    number = _order_of(name, record)
    status = str(record.get("ReturnStatus") or "")
    if name == HEADERS:
        tags.add(f"order:{number}")
        if status not in _HEADER_DONE:
            tags.add(OPEN)
    elif name == LINES:
        tags.add(f"lines-of:{number}")
        if status not in _LINE_DONE:
            tags.add(OPEN)
    else:
        tags.add(f"invoice-of:{number}")
    day = _day(name, record)
    if day:
        tags.add(f"day:{day}")
    return tags


def _day(name: str, record: Mapping[str, Any]) -> str | None:
    when = window_date(record, name)
    return when.date().isoformat() if when is not None else None


class _Relations:
    """Who a document's view depends on, in the index before a refresh and in what the
    refresh read: a return order's link, and the credit notes of a return order."""

    def __init__(self, stored: StoredRecords, fresh: dict[str, Any]) -> None:
        self.stored = stored
        self.fresh_headers: dict[str, list[Mapping[str, Any]]] = {}
        self.fresh_invoices: dict[str, list[Mapping[str, Any]]] = {}
        for ref, record in fresh.items():
            name = _name(ref)
            if isinstance(record, Mapping) and name in (HEADERS, INVOICES):
                into = self.fresh_headers if name == HEADERS else self.fresh_invoices
                into.setdefault(_order_of(name, record), []).append(record)

    def keys(self, name: str, record: Any) -> set[str]:
        if not isinstance(record, Mapping):
            return set()
        keys = own_keys(record)
        number = _order_of(name, record)
        if name == HEADERS:
            # its credit notes: grouped under it, or under their own reference without it
            for invoice in [*self.fresh_invoices.get(number, ()),
                            *(r for _, _, r in self.stored.tagged([f"invoice-of:{number}"]))]:
                if isinstance(invoice, Mapping):
                    keys |= own_keys(invoice)
        else:  # a line or a credit note: its return order's link
            for header in [*self.fresh_headers.get(number, ()),
                           *(r for _, _, r in self.stored.tagged([f"order:{number}"]))]:
                if isinstance(header, Mapping):
                    keys |= own_keys(header)
        return keys


def touch(stored: StoredRecords, changed: ErpBatch, master_names: Iterable[str],
          reasons_read: Callable[[list[str]], bool]) -> Touch | None:
    """The keys a refresh touches, or None where a merge would not lay it over the last
    read as it stands: not a refresh (`open_plus_recent`), new notices, a document without
    its key, master data not as it was (return reasons read where they were not, or the
    other way round, as `reasons_read` tells from a read's notices), an open document not
    read again."""
    window_text = (changed.tally or {}).get("open_plus_recent")
    window = moment(str(window_text)) if window_text else None
    if window is None or not set(changed.notices) <= set(stored.notices):
        return None
    if reasons_read(changed.notices) != reasons_read(stored.notices):
        return None  # the master data the rules read is not the index's
    if any(_keyless(ref) for ref in changed.raw):
        return None
    documents = {ref: record for ref, record in changed.raw.items()
                 if _name(ref) in DOCUMENTS}
    if not _same_master(stored, {ref: record for ref, record in changed.raw.items()
                                 if ref not in documents}, master_names):
        return None
    if stored.tagged([ODD]):
        return None
    missed = stored.tagged_refs([OPEN]) - set(documents)
    for ref, record in stored.get(missed).items():
        if not _before(record, _name(ref), window):
            return None  # held open, not read again: `merge` asks for a full read
    expired = {ref: record for _, ref, record in stored.tagged_between(
        "day:", f"day:{window.date().isoformat()}\uffff")
        if ref not in documents and _before(record, _name(ref), window)}
    same = stored.unchanged(documents)  # read again unchanged: most, each refresh
    upserts = {ref: record for ref, record in documents.items() if ref not in same}
    before = stored.get(upserts)
    relations = _Relations(stored, documents)
    keys: set[str] = set()
    for ref, new in upserts.items():
        old = before.get(ref)
        for version in (old, new):
            if version is not None:
                keys |= relations.keys(_name(ref), version)
    for ref, old in expired.items():
        keys |= relations.keys(_name(ref), old)
    return Touch(keys=keys, upserts=upserts, deletes=set(expired))


def _same_master(stored: StoredRecords, master: dict[str, Any], names: Iterable[str]
                 ) -> bool:
    """Whether the master data read is the index's, record for record (a change to any
    makes the caller check everything: the rules read it all)."""
    held: set[str] = set()
    for name in {*names, *(_name(ref) for ref in master)}:
        held |= stored.refs(f"{SYSTEM}:{name}:")
    return held == set(master) and stored.unchanged(master) == held


def records_of(stored: StoredRecords, keys: set[str]) -> dict[str, list[Any]]:
    """What the views of `keys` are made of, by entity, in the batch's order: the documents
    filed under the keys, the lines and credit notes of their return orders, and the return
    order of each line and credit note (which decides where it goes, or that it goes
    nowhere); the disposition codes."""
    direct = stored.tagged(f"k:{key}" for key in keys)
    hops: set[str] = set()
    for _, ref, record in direct:
        name = _name(ref)
        number = _order_of(name, record)
        if name == HEADERS:
            hops |= {f"lines-of:{number}", f"invoice-of:{number}"}
        else:
            hops.add(f"order:{number}")
    rows = {ref: (seq, record) for seq, ref, record in direct}
    more = stored.tagged(hops)
    for seq, ref, record in more:
        rows.setdefault(ref, (seq, record))
    orders = {f"order:{_order_of(_name(ref), record)}" for _, ref, record in more
              if _name(ref) != HEADERS} - hops
    for seq, ref, record in stored.tagged(orders):
        rows.setdefault(ref, (seq, record))
    out: dict[str, list[Any]] = {HEADERS: [], LINES: [], INVOICES: [], "dispositions": []}
    for ref, (_, record) in sorted(rows.items(), key=lambda item: item[1][0]):
        out[_name(ref)].append(record)
    out["dispositions"] = [record for _, _, record in stored.tagged([DISPOSITIONS])]
    return out


def views_of(assembled: ErpBatch, keys: Iterable[str]) -> tuple[dict[str, Any], dict[str, Any]]:
    wanted = set(keys)
    return ({k: v for k, v in assembled.views.items() if link_of(k) in wanted},
            {k: v for k, v in assembled.problems.items() if link_of(k) in wanted})


class MemoryRecords:
    """`StoredRecords` over a batch held in memory (the console's last read), filed under
    the same tags as in the index, so a refresh in memory finds what it touched as a
    `check` does and assembles only that. `tags` (raw_ref -> its tags) carries one batch's
    filing over to the next: only what a refresh changed is filed again."""

    def __init__(self, raw: dict[str, Any], notices: list[str],
                 tags: dict[str, frozenset[str]] | None = None) -> None:
        self.raw, self.notices = raw, notices
        self._filed = tags
        self._by_tag: dict[str, list[str]] | None = None
        self._by_name: dict[str, list[str]] | None = None
        self._order: dict[str, int] | None = None

    @property
    def tags(self) -> dict[str, frozenset[str]]:
        """Each record's tags (filed when first asked: a refresh whose master data
        changed needs none)."""
        if self._filed is None:
            self._filed = {ref: frozenset(record_tags(ref, record))
                           for ref, record in self.raw.items()}
        return self._filed

    def after(self, merged: dict[str, Any], touch: Touch) -> MemoryRecords | None:
        """The records of `merged` (this batch with `touch` applied), filed: None if they
        are not this batch's refs with the touch's upserts and deletes."""
        tags = dict(self.tags)
        for ref in touch.deletes:
            tags.pop(ref, None)
        for ref, record in touch.upserts.items():
            tags[ref] = frozenset(record_tags(ref, record))
        if tags.keys() != merged.keys():
            return None
        return MemoryRecords(merged, self.notices, tags)

    def _tags(self) -> dict[str, list[str]]:
        if self._by_tag is None:
            by_tag: defaultdict[str, list[str]] = defaultdict(list)
            for ref, tags in self.tags.items():
                for tag in tags:
                    by_tag[tag].append(ref)
            self._by_tag = dict(by_tag)
        return self._by_tag

    def _rows(self, refs: Iterable[str]) -> list[tuple[int, str, Any]]:
        if self._order is None:
            self._order = {ref: n for n, ref in enumerate(self.raw)}
        order = self._order
        return sorted((order[ref], ref, self.raw[ref]) for ref in refs)

    def get(self, refs: Iterable[str]) -> dict[str, Any]:
        return {ref: self.raw[ref] for ref in refs if ref in self.raw}

    def tagged(self, tags: Iterable[str]) -> list[tuple[int, str, Any]]:
        return self._rows(self.tagged_refs(tags))

    def tagged_refs(self, tags: Iterable[str]) -> set[str]:
        by_tag = self._tags()
        out: set[str] = set()
        for tag in set(tags):
            out.update(by_tag.get(tag, ()))
        return out

    def tagged_between(self, low: str, high: str) -> list[tuple[int, str, Any]]:
        return self.tagged(tag for tag in self._tags() if low <= tag < high)

    def refs(self, prefix: str) -> set[str]:
        if self._by_name is None:
            by_name: defaultdict[str, list[str]] = defaultdict(list)
            for ref in self.raw:
                by_name[_name(ref)].append(ref)
            self._by_name = dict(by_name)
        name = _name(prefix + "x")
        if prefix == f"{SYSTEM}:{name}:":
            return set(self._by_name.get(name, ()))
        return {ref for ref in self.raw if ref.startswith(prefix)}

    def unchanged(self, records: Mapping[str, Any]) -> set[str]:
        raw = self.raw
        return {ref for ref, record in records.items()
                if (old := raw.get(ref)) is not None and _same(old, record)}


def _same(old: Any, new: Any) -> bool:
    """Whether a record is as it was, value and JSON type of each field (as the index's
    byte comparison tells: `True == 1` and `0 == -0.0 == False` in Python, not in JSON)."""
    if old is new:
        return True
    if isinstance(old, dict) and isinstance(new, dict):
        if EXACT in old or EXACT in new:  # a number no float holds, as text once stored
            old, new = exact_again(old), exact_again(new)
        return old == new and all(type(value) is type(new[key]) and (
            not isinstance(value, float) or str(value) == str(new[key]))
            for key, value in old.items())
    return to_json(old) == to_json(new)
