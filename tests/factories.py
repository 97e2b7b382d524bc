"""Test factories: a healthy return as canonical JSON, to bend in one place per test.

    case = healthy()                      # dict, both sides agree, fully credited
    case["erp"]["credit_notes"] = []      # bend it
    findings = run(case)                  # reconcile at NOW with the demo world
"""

from __future__ import annotations

import copy
import random
from datetime import UTC, datetime, timedelta

from returns_console import systems
from returns_console.domain.codes import Action, Code
from returns_console.domain.findings import Finding
from returns_console.domain.model import ReturnCase, parse_cases
from returns_console.domain.reconcile import reconcile_case
from returns_console.domain.reference import ErpMaster, Mappings, Policy
from returns_console.domain.view import Context
from returns_console.scenarios.builder import Shape, build_return
from returns_console.scenarios.world import reference_data

NOW = datetime(2026, 11, 21, 10, 0, tzinfo=UTC)


def _test_world() -> dict:
    """The demo world plus what the rule tests lean on: a mapped handling fee and
    storefront-style refund methods (the demo world itself is Swap-flavoured)."""
    ref = reference_data(customers=60, now=NOW)
    ref["mappings"]["fees"] = {"handling_fee": "FEE-RETURN"}
    ref["mappings"]["payment_methods"].update(
        {"shopify_payments": "CARD", "paypal": "PAYPAL", "store_credit": "GIFTCARD"}
    )
    ref["erp_master"]["payment_methods"] = sorted(
        {*ref["erp_master"]["payment_methods"], "PAYPAL"}
    )
    return ref


_REFERENCE = _test_world()
#: The standard healthy return the rule tests describe: 2 x TEE-WHT-L graded sellable and
#: put in MAIN; refund = credit note = GBP items 178.00, tax 35.60, shipping 4.95,
#: discounts 0.00, fees 2.50 (a handling fee); refunded by shopify_payments.
_AMOUNTS = {"currency": "GBP", "items": "178.00", "tax": "35.60", "shipping": "4.95",
            "discounts": "0.00", "fees": "2.50"}


def reference() -> dict:
    """A fresh copy of the demo world's mappings, ERP master data and policy (JSON)."""
    return copy.deepcopy(_REFERENCE)


def healthy(
    days_ago: float = 8,
    progress: str = "credited",
    exchange: bool = False,
    seed: int = 1,
    i: int = 1,
    single_line: bool = True,
) -> dict:
    """A healthy return as canonical JSON, started `days_ago` before NOW.

    With `single_line` (the default) it is the standard return described above, whatever
    the builder's random draws; otherwise the builder's own multi-line return for `seed`.
    """
    rng = random.Random(seed)
    shape = Shape(start=NOW - timedelta(days=days_ago), progress=progress, exchange=exchange,
                  restock=True)
    case = build_return(i, rng, shape, customers=60)
    if single_line:
        _standardise(case)
    return case


def _standardise(case: dict) -> None:
    platform, erp = case["platform"], case["erp"]
    for side in (platform, erp):
        del side["lines"][1:]
    platform["customer_email"], platform["customer_name"] = (
        "customer00009@example.com", "Customer 9")
    erp["customer_ref"] = "C00009"
    pline, eline = platform["lines"][0], erp["lines"][0]
    pline.update(sku="TEE-WHT-L", quantity="2", reason="changed_mind", unit_price="24.00")
    eline.update(item_no="TEE-WHT-L", uom="PCS", quantity="2", reason="UNWANTED")
    if "received_quantity" in pline:
        pline["received_quantity"] = eline["received_quantity"] = "2"
    if "condition" in pline:
        pline["condition"] = "sellable"
        eline.update(disposition="RESELL", location="MAIN")
    if platform["refund"] is not None:
        platform["refund"] = dict(_AMOUNTS)
        platform["refund_method"] = "shopify_payments"
        platform["fees"] = [{"type": "handling_fee", "amount": "2.50"}]
    for note in erp["credit_notes"]:
        note.update(amounts=dict(_AMOUNTS), customer_ref="C00009", payment_method="CARD")
    credited = "credited" in erp["stages"] and erp["stages"]["credited"]["status"] == "done"
    if not credited:
        for key in ("restocked",):
            platform["stages"].pop(key, None)
            erp["stages"].pop(key, None)


def context(ref: dict | None = None, now: datetime = NOW, **policy: object) -> Context:
    ref = ref or reference()
    return Context(
        mappings=Mappings.model_validate(ref["mappings"]),
        master=ErpMaster.model_validate(ref["erp_master"]),
        policy=Policy.model_validate({**ref["policy"], **policy}),
        now=now,
        names=systems.names(),
    )


def parse(case: dict) -> ReturnCase:
    return parse_cases([case])[0]


def run(case: dict, ctx: Context | None = None) -> list[Finding]:
    """Every finding (errors and delays) for one return."""
    return reconcile_case(parse(case), ctx or context())


def codes(case: dict, ctx: Context | None = None, *, delays: bool = False) -> set[Code]:
    """The codes found on one return: errors only, or delays only with delays=True."""
    return {f.code for f in run(case, ctx) if f.delay is delays}


def only(case: dict, code: Code, ctx: Context | None = None, *, delay: bool = False) -> Finding:
    """The one finding of `code` (an error, or a delay with delay=True) on a return."""
    found = [f for f in run(case, ctx) if f.code is code and f.delay is delay]
    assert len(found) == 1, found
    return found[0]


#: Every field of spec section 4 a finding's JSON carries.
SECTION_4 = ("code", "stage", "kind", "severity", "owner", "return_ref", "order_ref",
             "line_ref", "platform_value", "erp_value", "message", "detected_at", "age_hours",
             "action")


def assert_catalogue_contract(finding: Finding, code: Code, kind: object) -> None:
    """What every rule's finding owes the catalogue and spec section 4, whatever its kind
    (each rule-test file adds what is particular to its kind)."""
    from returns_console.domain.catalogue import CATALOGUE, STAGE_OWNERS

    entry = CATALOGUE[code]
    assert finding.kind is kind is entry.kind
    # the catalogue's action, or none with the step to take in the ERP instead (where no
    # console action fits this case, or the ERP's API cannot do it)
    assert finding.action is entry.action or (finding.action is Action.NONE and finding.todo)
    if entry.stage is not None:
        assert finding.stage is entry.stage
    assert finding.owner is (entry.owner or STAGE_OWNERS[finding.stage])
    assert finding.return_ref == "R-100001"
    assert finding.order_ref == "#1001"
    assert finding.message
    assert finding.detected_at == NOW
    doc = finding.to_json()
    for key in SECTION_4:
        assert key in doc, key
    assert doc["code"] == code.value
    assert doc["action"] == finding.action.value
