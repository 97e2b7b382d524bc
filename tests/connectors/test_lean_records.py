"""Records made `lean` (connectors/validation.py) keep every value and drop only pydantic's
set of the fields given, which nothing reading Business Central's records uses."""

from __future__ import annotations

import sys
from decimal import Decimal

from returns_console.connectors.validation import lean
from returns_console.systems.d365_bc.connector import BcCreditMemo, _check

MEMO = {
    "id": "0f1e2d3c-0000-4000-8000-000000000001", "number": "CM-1",
    "externalDocumentNumber": "RMA-1", "status": "Open", "totalAmountExcludingTax": 10.5,
    "postingDate": "2026-11-20", "lastModifiedDateTime": "2026-11-20T10:00:00Z",
    "currencyCode": "GBP", "extra": "ignored",
    "salesCreditMemoLines": [
        {"id": "0f1e2d3c-0000-4000-8000-000000000002", "sequence": 10000,
         "lineObjectNumber": "SKU-1", "quantity": 2, "amountExcludingTax": Decimal("10.5")},
        {"id": "0f1e2d3c-0000-4000-8000-000000000003", "sequence": 20000,
         "lineObjectNumber": "SKU-2", "quantity": 1},
    ],
}


def test_a_lean_record_has_every_value_of_a_full_one() -> None:
    full = BcCreditMemo.model_validate(MEMO)
    made = _check(BcCreditMemo, MEMO)
    assert isinstance(made, BcCreditMemo)
    assert made == full
    assert made.model_dump() == full.model_dump()
    assert made.model_fields_set == frozenset()
    assert all(line.model_fields_set == frozenset() for line in made.salesCreditMemoLines)
    assert full.model_fields_set  # what it dropped


def test_lean_records_share_one_empty_set() -> None:
    """A set of its own per record (728 bytes here) is what `lean` saves."""
    one, two = (lean(BcCreditMemo.model_validate(MEMO)) for _ in range(2))
    assert one.__pydantic_fields_set__ is two.__pydantic_fields_set__
    assert one.salesCreditMemoLines[0].__pydantic_fields_set__ is two.__pydantic_fields_set__
    assert sys.getsizeof(BcCreditMemo.model_validate(MEMO).__pydantic_fields_set__) > 500


def test_business_centrals_records_cannot_be_changed() -> None:
    """Read, never changed: an assignment fails clearly (a lean record's shared fields-set
    could not take it)."""
    import pytest
    from pydantic import ValidationError

    made = _check(BcCreditMemo, MEMO)
    with pytest.raises(ValidationError):
        made.number = "CM-2"
