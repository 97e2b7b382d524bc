"""Assembling a whole Business Central batch from kept raw records a thousand link keys at
a time (the console's first refresh, which holds far less at once that way) must give the
very batch assembling everything at once gives: documents moved between keys along every
way they meet (a memo's link, a receipt's return order, an invoice a memo applies to),
records that do not validate, a tenant without an optional API. In process, the parts made
tiny so a batch has dozens of them."""

from __future__ import annotations

import copy
import random
from datetime import UTC, datetime, timedelta

import pytest

from returns_console.connectors.base import ErpBatch
from returns_console.sandbox.demo import build_sandbox
from returns_console.systems.d365_bc import connector as bc
from returns_console.systems.d365_bc.connector import BcSettings, BusinessCentralConnector
from returns_console.systems.d365_bc.connector import _Assembler as Assembler
from tests.integration.test_bc_touched_merge import _change, _same

NOW = datetime(2026, 11, 21, 10, 0, tzinfo=UTC)
SETTINGS = BcSettings(base_url="http://x", tenant="t", environment="e", client_id="c",
                      client_secret="s")


def _whole(rows: dict) -> ErpBatch:
    return Assembler(SETTINGS, NOW, None).assemble(copy.deepcopy(rows))


def _in_parts(whole: ErpBatch, absent: frozenset[str] = frozenset()) -> ErpBatch | None:
    return BusinessCentralConnector(SETTINGS)._assemble_in_parts(dict(whole.raw), absent, NOW)


def _equal(got: ErpBatch | None, want: ErpBatch) -> None:
    assert got is not None
    _same(got, want)
    assert got.notices == want.notices
    assert got.cursor == want.cursor


@pytest.mark.parametrize("seed", [1, 2, 3, 4])
def test_parts_give_what_the_whole_gives_after_documents_moved_between_keys(
        seed: int, monkeypatch) -> None:
    monkeypatch.setattr(bc, "ASSEMBLY_PART", 3)
    box = build_sandbox(NOW, returns=90, seed=seed)
    rnd = random.Random(seed)
    data = box.erp.data
    for n in range(25):
        _change(data, rnd, NOW + timedelta(minutes=n))
    whole = _whole(data.sets)
    assert len(whole.views) > 30
    _equal(_in_parts(whole), whole)


def test_records_that_do_not_validate_are_kept_under_the_same_keys(monkeypatch) -> None:
    monkeypatch.setattr(bc, "ASSEMBLY_PART", 4)
    box = build_sandbox(NOW, returns=60, seed=5)
    rows = copy.deepcopy(box.erp.data.sets)
    memos, orders = rows["salesCreditMemos"], rows["salesReturnOrders"]
    memos[0]["totalAmountIncludingTax"] = "lots"  # under its link
    memos[1]["externalDocumentNumber"] = ""
    memos[1]["status"] = 7  # no link: under its number
    orders[0]["number"] = None
    orders[0]["status"] = []  # a return order that does not validate
    rows["returnReceipts"].append({"id": "rcpt-bent", "orderNumber": orders[1]["number"],
                                   "postingDate": "never"})
    whole = _whole(rows)
    assert whole.problems
    _equal(_in_parts(whole), whole)


def test_a_tenant_without_return_receipts_is_told_once(monkeypatch) -> None:
    monkeypatch.setattr(bc, "ASSEMBLY_PART", 5)
    box = build_sandbox(NOW, returns=60, seed=6)
    rows = copy.deepcopy(box.erp.data.sets)
    rows["returnReceipts"] = None
    whole = _whole(rows)
    assert any("no returnReceipts API" in n for n in whole.notices)
    _equal(_in_parts(whole, frozenset({"returnReceipts"})), whole)


def test_an_invoice_that_does_not_validate_is_assembled_whole(monkeypatch) -> None:
    """Its notice would be told once per part: the batch is assembled at once instead,
    and merge gives the same batch either way."""
    monkeypatch.setattr(bc, "ASSEMBLY_PART", 5)
    box = build_sandbox(NOW, returns=60, seed=7)
    rows = copy.deepcopy(box.erp.data.sets)
    rows["salesInvoices"][0]["postingDate"] = "not a day"
    whole = _whole(rows)
    assert any(n.startswith(bc.INVOICE_SKIPPED) for n in whole.notices)
    assert _in_parts(whole) is None
    raw_only = ErpBatch(raw=dict(whole.raw), fetched_at=NOW, notices=list(whole.notices))
    merged = BusinessCentralConnector(SETTINGS).merge(raw_only, ErpBatch(fetched_at=NOW))
    _same(merged, whole)


def test_merge_of_a_batch_kept_without_views_goes_by_parts(monkeypatch) -> None:
    """The console's first refresh: raw records from the cache, no views."""
    monkeypatch.setattr(bc, "ASSEMBLY_PART", 5)
    calls = []
    real = BusinessCentralConnector._assemble_in_parts

    def counted(self, *args, **kwargs):
        out = real(self, *args, **kwargs)
        calls.append(out is not None)
        return out

    monkeypatch.setattr(BusinessCentralConnector, "_assemble_in_parts", counted)
    box = build_sandbox(NOW, returns=60, seed=8)
    whole = _whole(box.erp.data.sets)
    raw_only = ErpBatch(raw=dict(whole.raw), fetched_at=NOW, notices=list(whole.notices))
    merged = BusinessCentralConnector(SETTINGS).merge(raw_only, ErpBatch(fetched_at=NOW))
    assert calls == [True]
    _same(merged, whole)
