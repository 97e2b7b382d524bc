"""docs/swap-bc-mapping.md is checked against the code, row by row (issue 9.7: the doc mapped
reasons by `main_reason_text` while the connector read `main_reason_id`)."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from returns_console.systems.d365_bc import connector as bc
from returns_console.systems.swap.connector import (
    V1_TO_V2,
    SwapConnector,
    SwapProduct,
    SwapReturn,
    SwapSettings,
    SwapShipment,
)

DOC = Path(__file__).resolve().parents[2] / "docs" / "swap-bc-mapping.md"
TICKED = re.compile(r"`([^`]+)`")


def table(name: str) -> list[list[str]]:
    text = DOC.read_text()
    body = text.split(f"<!-- {name} -->", 1)[1].split(f"<!-- /{name} -->", 1)[0]
    rows = [[cell.strip() for cell in line.strip().strip("|").split("|")]
            for line in body.strip().splitlines()]
    return [r for r in rows[2:] if r and r[0]]  # header and rule line off


SWAP_ROWS = table("swap-fields")
BC_ROWS = table("bc-fields")


def swap_field(name: str) -> tuple[type, str]:
    """Which model a documented Swap field lives on, and its name there."""
    for prefix, model in (("products[].", SwapProduct), ("return_shipments[].", SwapShipment)):
        if name.startswith(prefix):
            return model, name[len(prefix):]
    return SwapReturn, V1_TO_V2.get(name, name)


@pytest.mark.parametrize("row", SWAP_ROWS, ids=lambda r: r[0])
def test_every_swap_field_the_doc_names_is_one_the_connector_reads(row: list[str]) -> None:
    canonical, v2, v1, how = row
    for column in (v2, v1):
        for name in TICKED.findall(column):
            model, field = swap_field(name)
            assert field in model.model_fields, f"{canonical}: {name} is not read"
    for name in TICKED.findall(how):
        if "[]." in name or (name.islower() and "_" in name and "=" not in name):
            model, field = swap_field(name)
            known = field in SwapSettings.__dataclass_fields__ or any(
                field in m.model_fields for m in (model, SwapReturn, SwapProduct))
            assert known, f"{canonical}: {name} (in 'how') is neither a field nor an option"


def _record(**changes: Any) -> dict:
    product = {"product_id": "P-1", "sku": "TEE-1", "item_count": 2, "cost": 48,
               "main_reason_id": "r-17", "main_reason_text": "Too small",
               "intake_reason": "sellable", "return_type": "Refund"}
    product.update(changes.pop("product", {}))
    record = {"rma_number": "RMA-1", "return_id": "x", "shopify_order_name": "#1001",
              "customer_email": "a@example.com", "customer_name": "Ann",
              "date_created": "2026-11-01T10:00:00Z", "date_updated": "2026-11-05T10:00:00Z",
              "return_status": "Closed", "delivery_status": "Delivered",
              "delivered_date": "2026-11-04T10:00:00Z", "quality_control_status": "Completed",
              "rma_processed": True, "date_closed": "2026-11-05T10:00:00Z",
              "type_string": "Refund", "customer_currency": "GBP",
              "total_refunded_taxes": 9.6, "handling_fee": 2.5,
              "return_shipments": [{"destination_location_id": "hub-9",
                                    "items": [{"product_id": "P-1", "sku": "TEE-1"}]}],
              "products": [product]}
    record.update(changes)
    return record


def _view(version: int = 2, record: dict | None = None, **settings: Any):
    swap = SwapConnector(SwapSettings(base_url="http://x", store="s", api_key="k",
                                      api_version=version, **settings))
    raw = record or _record()
    if version == 1:
        back = {v: k for k, v in V1_TO_V2.items()}
        raw = {back.get(k, k): v for k, v in raw.items() if k != "return_shipments"}
    view, problem = swap.parse(raw)
    assert problem is None, problem
    return view


#: What each "copied" row's canonical field reads back as from `_record()`.
COPIED = {
    "return_ref": ("return_ref", "RMA-1"), "order_ref": ("order_ref", "#1001"),
    "customer_email": ("customer_email", "a@example.com"),
    "customer_name": ("customer_name", "Ann"),
    "created_at": ("created_at", datetime(2026, 11, 1, 10, tzinfo=UTC)),
    "lines.sku": ("lines.0.sku", "TEE-1"), "lines.quantity": ("lines.0.quantity", Decimal(2)),
    "lines.line_ref": ("lines.0.line_ref", "P-1"), "lines.reason": ("lines.0.reason", "r-17"),
    "lines.condition": ("lines.0.condition", "sellable"),
    "refund.tax": ("refund.tax", Decimal("9.60")), "refund.fees": ("refund.fees", Decimal("2.50")),
    "refund.currency": ("refund.currency", "GBP"),
}


def _at(view: Any, path: str) -> Any:
    for part in path.split("."):
        view = view[int(part)] if part.isdigit() else getattr(view, part)
    return view


@pytest.mark.parametrize("version", [1, 2])
def test_every_copied_swap_row_arrives_where_the_doc_says(version: int) -> None:
    copied = [r[0] for r in SWAP_ROWS if r[3].startswith("copied")]
    assert set(copied) == set(COPIED), "a copied row with no check, or a check with no row"
    view = _view(version)
    for canonical in copied:
        path, want = COPIED[canonical]
        assert _at(view, path) == want, canonical


def test_the_reason_key_is_the_one_the_doc_names_and_the_option_switches_it() -> None:
    row = next(r for r in SWAP_ROWS if r[0] == "lines.reason")
    assert TICKED.findall(row[1]) == ["products[].main_reason_id"]
    assert "main_reason_text" in row[3]
    assert _view().lines[0].reason == "r-17"
    assert _view(reason_key="main_reason_text").lines[0].reason == "Too small"


def test_money_rows_cost_is_the_line_total_less_tax_inside_it() -> None:
    view = _view()
    assert view.lines[0].unit_price == Decimal("24.00")
    assert view.refund.items == Decimal("48.00")
    inclusive = _view(record=_record(product={"refunded_inclusive_taxes": 8}))
    assert inclusive.refund.items == Decimal("40.00")
    assert inclusive.lines[0].unit_price == Decimal("20.00")
    assert view.lines[0].location == "hub-9" and view.refund_method == "Refund"


@pytest.mark.parametrize("types,credited,exchanged,method", [
    ("Refund", "done", None, "Refund"),
    ("Shop Later Credit", "done", None, "Shop Later Credit"),
    ("Recycle", "not_applicable", None, None),
    ("Exchange", "not_applicable", "done", None),
    ("Refund, Exchange", "done", "done", "Refund"),
])
def test_the_what_is_money_table(types: str, credited: str, exchanged: str | None,
                                 method: str | None) -> None:
    record = _record(type_string=types, product={"return_type": None})
    view = _view(record=record)
    assert view.stages["credited"].status == credited
    assert (view.stages["exchanged"].status if "exchanged" in view.stages else None) == exchanged
    assert view.refund_method == method
    assert (view.refund is None) == (credited != "done")


@pytest.mark.parametrize("row", BC_ROWS, ids=lambda r: f"{r[0]}-{r[1]}")
def test_every_business_central_field_the_doc_names_is_one_the_connector_reads(
        row: list[str]) -> None:
    canonical, entity_set, field, _ = row
    model = bc.MODELS[entity_set]
    for name in TICKED.findall(field):
        assert name in model.model_fields, f"{canonical}: {entity_set}.{name} is not read"


def test_the_bc_defaults_the_doc_gives_are_the_connectors() -> None:
    text = DOC.read_text()
    settings = bc.BcSettings(base_url="x", tenant="t", environment="e", client_id="c",
                             client_secret="s")
    assert f"`{','.join(settings.link_documents)}`" in text
    assert settings.link_pattern == "" and "any\nnon-empty value" in text
