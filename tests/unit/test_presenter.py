"""Presenter mode's masking: no customer detail and no hostname survives, the rest does."""

from __future__ import annotations

from decimal import Decimal

import pytest

from returns_console.tui.presenter import (
    Masker,
    is_personal_key,
    mask_email,
    mask_host,
    mask_name,
    mask_text,
)
from tests.factories import healthy, parse


def test_an_email_keeps_its_shape_only() -> None:
    assert mask_email("jane.doe@example.com") == "j•••@e•••.com"
    assert mask_email("a@mail.example.co.uk") == "a•••@m•••.uk"
    assert mask_email("not-an-email") == "n•••"


def test_a_name_keeps_its_initials_only() -> None:
    assert mask_name("Jane Doe") == "J••• D•••"
    assert mask_name("  Prince  ") == "P•••"
    assert mask_name("") == ""


def test_mask_text_replaces_every_occurrence_in_any_case_as_a_whole_word() -> None:
    text = "JANE DOE (jane.doe@Example.com) wrote; Jane Doeson did not"
    masked = mask_text(text, ["Jane Doe", "jane.doe@example.com", "", "  "])
    assert masked == "J••• D••• (j•••@E•••.com) wrote; Jane Doeson did not"


def test_mask_text_masks_the_longest_secret_first() -> None:
    assert mask_text("mail jane@doe.com", ["jane", "jane@doe.com"]) == "mail j•••@d•••.com"


@pytest.mark.parametrize(("text", "expected"), [
    ("see http://127.0.0.1:8765/swap/returns?page=2", "see https://•••/swap/returns?page=2"),
    ("https://api.businesscentral.dynamics.com/v2.0/x", "https://•••/v2.0/x"),
    ("https://user:pw@host.example.com", "https://•••"),
    ("token from login.microsoftonline.com failed", "token from ••• failed"),
    ("api.swap-os.com:443 timed out", "••• timed out"),
    ("connect 10.1.2.3:5432 refused", "connect ••• refused"),
])
def test_mask_host_hides_every_hostname(text: str, expected: str) -> None:
    assert mask_host(text) == expected


@pytest.mark.parametrize("text", [
    "Items differ: refunded 173.70 GBP (difference -19.30)",
    "products[1].item_count: Input should be a valid decimal",
    "grace 1.5 h, version 8.2.8, e.g. late",
])
def test_mask_host_leaves_amounts_versions_and_field_paths_alone(text: str) -> None:
    assert mask_host(text) == text


def test_the_masker_knows_the_customer_of_the_case_and_hides_any_email_and_host() -> None:
    case = parse(healthy())
    masker = Masker(case)
    assert masker.secrets == {"Customer 9", "customer00009@example.com"}
    said = "Customer 9 <CUSTOMER00009@example.com> cc ops@northwind.test via erp.northwind.test"
    assert masker.mask(said) == "C••• 9••• <C•••@e•••.com> cc o•••@n•••.test via •••"
    assert masker.mask(None) == ""


@pytest.mark.parametrize(("key", "parent"), [
    ("customer_name", ""), ("customerName", ""), ("sellToCustomerName", ""),
    ("billToName", ""), ("first_name", ""), ("email", "x"), ("phoneNumber", ""),
    ("sellToAddressLine1", ""), ("billToCity", ""), ("sellToPostCode", ""), ("zip", ""),
    ("name", "customer"), ("displayName", "shipping_address"), ("sellToCountry", ""),
])
def test_personal_keys(key: str, parent: str) -> None:
    assert is_personal_key(key, parent)


@pytest.mark.parametrize(("key", "parent"), [
    ("product_name", ""), ("store_name", ""), ("displayName", ""), ("name", "company"),
    ("shopify_order_name", ""), ("taxAreaDisplayName", ""), ("customer_currency", ""),
    ("customerNumber", ""), ("return_order_state", ""),
])
def test_keys_that_are_not_personal(key: str, parent: str) -> None:
    assert not is_personal_key(key, parent)


def test_a_raw_record_is_masked_by_key_and_by_value_and_keeps_its_shape() -> None:
    record = {
        "@odata.context": "https://api.businesscentral.dynamics.com/v2.0/t/api",
        "number": "PCM000017",
        "sellToCustomerName": "Jane Doe",
        "billToAddressLine1": "1 High Street",
        "billToPostCode": 12345,
        "customer": {"name": "Jane Doe", "email": "jane@doe.com", "id": 7},
        "lines": [{"description": "Return for jane doe", "amount": Decimal("9.60")}],
        "note": None,
    }
    masker = Masker()
    masker.learn(record)
    assert masker.record(record) == {
        "@odata.context": "https://•••/v2.0/t/api",
        "number": "PCM000017",
        "sellToCustomerName": "J••• D•••",
        "billToAddressLine1": "1••• H••• S•••",
        "billToPostCode": "•••",
        "customer": {"name": "J••• D•••", "email": "j•••@d•••.com", "id": 7},
        "lines": [{"description": "Return for j••• d•••", "amount": Decimal("9.60")}],
        "note": None,
    }
