"""Business Central's records in the record index (store/records.py): how each is filed,
which link keys an incremental read touches, and the records a key's view is made of.

The same relations as partial.py (a record's own link; a receipt and the return order its
`orderNumber` names; a credit memo and the invoice it applies to), asked of the index one
query at a time instead of a pass over every record in memory. Tags:
`k:<key>` for each key a record counts under by itself (`own_keys`), `order:<number>` for a
return order, `receipt-of:<order number>` for a receipt, `memo-of:<invoice link>` for a
credit memo, `invoice:<id>` and `invoice:#<number>` for an invoice, `set:<name>` for master
data (never filed under a key: a change to it makes the caller assemble everything).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from pydantic_core import to_json

from ...connectors.base import ErpBatch, StoredRecords, Touch
from ...domain.pairing import link_of
from .partial import (
    INVOICES,
    MASTER_SETS,
    MEMOS,
    ORDERS,
    RECEIPTS,
    Links,
    _invoice_links,
    _text,
    own_keys,
    set_of,
    subset,
)

SYSTEM = "d365_bc"


#: A record with no id of text: every such record of a set shares one raw_ref, so the index
#: cannot keep them apart (nor can the cache); a refresh then assembles everything.
ODD = "odd-id"


def record_tags(ref: str, record: Any) -> set[str]:
    if ref.endswith(":?"):
        return {ODD}
    name = set_of(ref)
    if name in MASTER_SETS:  # found by set only where views read them (see records_of)
        return {f"set:{name}"} if name == "locations" else set()
    # A document with a link is kept under it, valid or not (`_Assembler.records`); one
    # without, when it does not validate, under its number, code or id.
    link = _text(record, "externalDocumentNumber")
    tags = {f"k:{link_of(key)}" for key in ({link.casefold()} if link else own_keys(record))}
    if name == ORDERS:
        tags.add(f"order:{_text(record, 'number')}")
    elif name == RECEIPTS:
        tags.add(f"receipt-of:{_text(record, 'orderNumber')}")
    elif name == MEMOS:
        tags.update(f"memo-of:{link}" for link in _invoice_links(record))
    elif name == INVOICES:
        tags.update(_invoice_tags(record))
    return tags


def _invoice_tags(record: Any) -> set[str]:
    return {f"invoice:{_text(record, 'id').casefold()}", f"invoice:#{_text(record, 'number')}"}


def _own(rows: Iterable[tuple[int, str, Any]]) -> set[str]:
    keys: set[str] = set()
    for _, _, record in rows:
        keys |= own_keys(record)
    return keys


class _StoredLinks:
    """`Links.keys` over the index as it was before a read, plus what the read brought:
    who refers to whom counts in every version (as partial.touched_keys counts it)."""

    def __init__(self, stored: StoredRecords, changed: dict[str, Any]) -> None:
        self.stored = stored
        self.fresh = Links(changed)

    def keys(self, name: str, record: Any) -> set[str]:
        keys = self.fresh.keys(name, record)
        if name == RECEIPTS:
            keys |= _own(self.stored.tagged([f"order:{_text(record, 'orderNumber')}"]))
        elif name == ORDERS:
            number = _text(record, "number")
            keys |= _own(self.stored.tagged([f"receipt-of:{number}", f"order:{number}"]))
        elif name == INVOICES:
            keys |= _own(self.stored.tagged(
                [f"memo-of:{_text(record, 'id').casefold()}",
                 f"memo-of:#{_text(record, 'number')}"]))
        return keys


def touch(stored: StoredRecords, changed: ErpBatch, absent: frozenset[str]) -> Touch | None:
    """The keys an incremental read touches. None when master data changed (the caller
    assembles everything: views read the locations, the rules the rest) or the tenant's
    optional APIs are not what they were (`absent`: what they were)."""
    from .connector import INVOICE_SKIPPED, _absent

    if _absent(changed) != absent or any(n.startswith(INVOICE_SKIPPED)
                                         for n in stored.notices):
        return None
    if any(ref.endswith(":?") for ref in changed.raw) or stored.tagged([ODD]):
        return None
    deleted: set[str] = set()
    for name, ids in (changed.present or {}).items():
        prefix = f"{SYSTEM}:{name}:"
        deleted |= {ref for ref in stored.refs(prefix) if ref[len(prefix):] not in ids}
    before = stored.get([*changed.raw, *deleted])
    links = _StoredLinks(stored, changed.raw)
    keys: set[str] = set()
    for ref in [*changed.raw, *deleted]:
        old, new = before.get(ref), changed.raw.get(ref)
        if old is not None and new is not None and to_json(old) == to_json(new):
            continue  # read again unchanged (reads overlap by a little, on purpose)
        name = set_of(ref)
        if name in MASTER_SETS:
            return None
        for version in (old, new):
            if version is not None:
                keys |= links.keys(name, version)
    return Touch(keys=keys, upserts=dict(changed.raw), deletes=deleted)


def records_of(stored: StoredRecords, keys: set[str]) -> tuple[dict[str, list[Any] | None],
                                                               set[str]]:
    """What the views of `keys` (as pairing spells them: `link_of`) are made of, by set,
    in the batch's order (as partial.subset picks them from every record): the records
    filed under the keys, then one step along each relation from them (the closure
    `subset` needs: see partial.py); and the keys as the records spell them."""
    direct = stored.tagged(f"k:{key}" for key in keys)
    spelt = set(keys)
    for _, _, record in direct:
        spelt |= {key for key in own_keys(record) if link_of(key) in keys}
    hops: set[str] = set()
    for _, ref, record in direct:
        name = set_of(ref)
        if name == ORDERS:
            number = _text(record, "number")
            hops |= {f"receipt-of:{number}", f"order:{number}"}
        elif name == RECEIPTS:
            hops.add(f"order:{_text(record, 'orderNumber')}")
        elif name == MEMOS:
            hops.update(f"invoice:{link}" for link in _invoice_links(record))
        elif name == INVOICES:
            hops |= {f"memo-of:{_text(record, 'id').casefold()}",
                     f"memo-of:#{_text(record, 'number')}"}
    rows = {ref: (seq, record) for seq, ref, record in direct}
    for seq, ref, record in stored.tagged(hops):
        rows.setdefault(ref, (seq, record))
    for seq, ref, record in stored.tagged(["set:locations"]):
        rows.setdefault(ref, (seq, record))
    ordered = dict(sorted(rows.items(), key=lambda item: item[1][0]))
    return subset(Links({ref: record for ref, (_, record) in ordered.items()}), spelt), spelt
