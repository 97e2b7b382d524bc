"""NetSuite's writes against what its documentation shows (docs/vendors/netsuite.md §5-§6):
the transform's path and answer, the external id a re-queued credit carries, and what the
lifecycle forbids, run through the writer (`systems/netsuite/writer.py`)."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from returns_console.domain.postings import CreditLine, CreditRequest, ReturnDocument
from returns_console.systems.netsuite.connector import NetSuiteConnector, NetSuiteSettings
from returns_console.systems.netsuite.simulator import demo_key_pem
from returns_console.systems.netsuite.writer import (
    NetSuiteWriter,
    _id_from_location,
    credit_external_id,
)


def _writer() -> NetSuiteWriter:
    return NetSuiteWriter(NetSuiteConnector(NetSuiteSettings(
        base_url="https://demo123.suitetalk.api.netsuite.com", account_id="demo123",
        client_id="client", certificate_id="cert", private_key=demo_key_pem())))


def _credit(**source: object) -> CreditRequest:
    document = ReturnDocument(**{"raw_ref": "netsuite:returnAuthorization:60",
                                 "number": "RMA000060", "state": "open", "received": True,
                                 **source})  # type: ignore[arg-type]
    return CreditRequest(link="R-1001", customer_ref="C1", currency="USD",
                         lines=(CreditLine(item_no="A", quantity=1),), source=document)


def test_the_new_records_id_is_read_from_location() -> None:
    """§6.1: a create answers 204, no body, `Location: https://demo123.suitetalk.api.
    netsuite.com/services/rest/record/v1/customer/647`; a transform answers as a create
    does (§5.2)."""
    assert _id_from_location(
        "https://demo123.suitetalk.api.netsuite.com/services/rest/record/v1/customer/647") \
        == "647"
    assert _id_from_location(None) is None
    assert _id_from_location("https://demo123.suitetalk.api.netsuite.com/x/y") is None


def test_the_transform_is_the_documented_post_from_the_ra() -> None:
    """§5.2/§5.4: `POST …/record/v1/{fromType}/{id}/!transform/{toType}` (the sample:
    `…/record/v1/invoice/60/!transform/creditMemo`), a JSON body overriding fields;
    §6.1: `X-NetSuite-PropertyNameValidation: error` makes a typo'd field fail."""
    sent = _writer().describe_create_credit(_credit())
    assert sent["method"] == "POST"
    assert sent["path"] == "/services/rest/record/v1/returnAuthorization/60/!transform/creditMemo"
    assert sent["headers"]["X-NetSuite-PropertyNameValidation"] == "error"
    assert sent["body"] == {"externalId": credit_external_id("R-1001"), "otherRefNum": "R-1001"}


@given(st.text(min_size=1, max_size=80))
def test_an_external_id_is_only_what_netsuite_takes(link: str) -> None:
    """§6.1: external id characters are letters, digits, `_` and `-` (a `|` breaks
    parsing); two links that read alike still get different ids."""
    eid = credit_external_id(link)
    assert re.fullmatch(r"[A-Za-z0-9_-]+", eid)
    assert credit_external_id(link + "|") != eid


@pytest.mark.parametrize(("source", "said"), [
    ({"state": "on_hold"}, "pending approval"),  # §5.1: can't be credited until approved
    ({"state": "cancelled"}, "cancelled"),
    ({"received": False}, "credits only what was received"),  # §5.1 (no refund in advance)
])
def test_what_the_lifecycle_forbids_is_refused_before_sending(source: dict, said: str) -> None:
    with pytest.raises(ValueError, match=said):
        _writer().describe_create_credit(_credit(**source))


def test_without_advanced_receiving_the_credit_itself_receives() -> None:
    """§4.3/§5.1: with Advanced Receiving off, receipt and refund are one step, so nothing
    is received before the credit: it is not refused for that."""
    from returns_console.systems.netsuite.mapping import MappingSettings

    writer = NetSuiteWriter(NetSuiteConnector(NetSuiteSettings(
        base_url="https://demo123.suitetalk.api.netsuite.com", account_id="demo123",
        client_id="client", certificate_id="cert", private_key=demo_key_pem(),
        mapping=MappingSettings(advanced_receiving=False))))
    assert writer.describe_create_credit(_credit(received=False))["method"] == "POST"
