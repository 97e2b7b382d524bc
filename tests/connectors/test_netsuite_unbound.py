"""SuiteQL values for an account before NetSuite 2026.2 (option `bound_parameters = false`):
REST SuiteQL takes bound parameters only from 2026.2 (docs/vendors/netsuite.md §3.1), so
the values go into the query text as quoted literals, and the read gives what a read with
bound parameters gives on a newer account."""

from __future__ import annotations

import asyncio

import pytest

from returns_console.connectors.errors import RequestError
from returns_console.connectors.http import CallLog
from returns_console.services.connections import open_erp
from returns_console.systems.netsuite.queries import written_in
from tests.contracts import kit


def read(box, profile):
    async def go():
        erp = open_erp(profile, box.secret, CallLog(), kit.in_process(box))
        try:
            return await erp.fetch_records()
        finally:
            await erp.aclose()
    return asyncio.run(go())


def test_values_are_written_as_literals_outside_quotes_and_escaped() -> None:
    text = "SELECT x FROM t WHERE a = ? AND b = 'what?' AND c = ? AND d = 'it''s?'"
    assert written_in(text, ["2026-01-01", "O'Brien ?"]) == (
        "SELECT x FROM t WHERE a = '2026-01-01' AND b = 'what?' AND c = 'O''Brien ?' "
        "AND d = 'it''s?'")
    with pytest.raises(ValueError, match="control character"):
        written_in("SELECT ? FROM t", ["a\nb"])
    with pytest.raises(ValueError, match="more parameters"):
        written_in("SELECT ? FROM t WHERE ?", ["a"])
    with pytest.raises(ValueError, match="fewer parameters"):
        written_in("SELECT ? FROM t", ["a", "b"])


def test_an_account_before_2026_2_is_read_with_literals_and_gives_the_same_batch() -> None:
    newer = kit.sandbox("shopify", "netsuite")
    bound = read(newer, newer.profile(kit.IN_PROCESS))
    older = kit.sandbox("shopify", "netsuite")
    older.erp.endpoint.takes_params = False
    profile = older.profile(kit.IN_PROCESS)
    with pytest.raises(RequestError):  # bound parameters: refused by the older release
        read(older, profile)
    literal = read(older, kit.tuned(profile, netsuite={"bound_parameters": False}))
    assert literal.views == bound.views and literal.master == bound.master
    assert literal.views and not literal.problems
