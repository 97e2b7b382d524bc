"""The planted truth of the independent check of the F&O WRITES (fix reference, re-queue), on top
of the read check's world (scenario.build_world(): 51 Swap returns, legal entities ``frgb`` and
the decoy ``frie``). Written from docs/vendors/d365-fo.md ("fo §x.y"), docs/vendors/
swap-commerce.md ("swap §x.y"), docs/exceptions.md and the README's promises, never from the
product's code.

Readings (where the docs do not settle it; repeated in the report)
  R1. "Approved" on Swap (swap §1.3 lists Open, Needs Review, Closed, Expired, On Hold,
      Cancelled, without definitions; Swap's help pages use "Approve" for the item decision at
      processing time): ``Open`` is a live return whose label was issued (docs/exceptions.md:
      the ``authorised`` stage is "return requested / approved, RMA or return label issued");
      ``Cancelled`` is rejected/withdrawn: no return order (determined). ``Needs Review`` is
      read as awaiting the merchant's decision, hence not approved: a READING the docs do not
      settle, scored apart (Plan.no_write_reading, an xfail test).
  R2. A return whose return order has been invoiced (credit note posted, fo §6.1 step 5,
      §5.7) must not have its reference changed: the posted credit note keeps the reference it
      was posted with (a posted document is not edited; SalesInvoiceHeadersV2 is a posted
      journal), so changing the order's would split the link. README: "a posted invoice's is
      not changed: the refusal says what to do in F&O".
  R3. Someone else changing the link field between the product's read and its PATCH makes the
      operator's decision void (the record no longer carries the link the operator saw); the
      product must not apply its value over it, neither blindly nor after re-reading.
  R4. Re-queue is resumable per line (fo §11 U30, §7.1 "track lines by
      LineCreationSequenceNumber/item"): a re-run completes a return order whose lines are
      missing and never duplicates the header or a line.
  R5. A return order exists for a return only in the profile's legal entity: the decoy
      company's return order for RMA-FR-6201 (fo §1.2) does not make re-queue a no-op in frgb.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from . import scenario
from .scenario import COMPANY, FO, RO, Line, Spec, at, swap_record


def L(item: str, qty: int = 1, sku: str | None = None, factor: int = 1) -> Line:
    return Line(sku=sku or item, qty=qty, item=item, factor=factor)


@dataclass
class Plan:
    """What the check runs and expects."""

    # fix-reference cases: name -> (RETURN_REF given to the CLI, NEW_LINK)
    fix: dict[str, tuple[str, str]] = field(default_factory=dict)
    # the F&O record each fix-reference case targets: name -> (company, ReturnOrderNumber)
    fix_record: dict[str, tuple[str, str]] = field(default_factory=dict)
    # requeue positives: link -> (customer account, [(item, F&O quantity)])
    create: dict[str, tuple[str, list[tuple[str, int]]]] = field(default_factory=dict)
    # requeue negatives: link -> why nothing may be written
    no_write: dict[str, str] = field(default_factory=dict)
    # requeue negatives that rest on a reading the docs do not settle (kept out of the score)
    no_write_reading: dict[str, str] = field(default_factory=dict)
    # someone else's edit planted on a record: (company, ReturnOrderNumber) -> {field: value}
    concurrent_edit: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    notes: dict[str, str] = field(default_factory=dict)


def build() -> tuple[scenario.World, Plan]:
    w = scenario.build_world()
    plan = Plan()
    main = FO(w, COMPANY, "GBP")
    cust = w.customers  # 45..47 are unused by the read world
    orders = iter(range(58001, 58999))

    def order() -> str:
        return f"#{next(orders)}"

    def add(spec: Spec) -> list[str]:
        if spec.platform:
            w.swap_returns[scenario.STORE_ID].append(swap_record(spec))
        main.original_sale(spec.order, spec.cust, spec.lines, spec.created - timedelta(days=11))
        return [main.return_order(spec, ro) for ro in spec.ros]

    # ---- fix reference ----------------------------------------------------------------------
    # F1: the integration typed the letter O for a zero: the return order carries RMA-FR-81O1
    s = Spec(ref="RMA-FR-8101", order=order(), cust=cust[45], lines=[L("HOOD-GRY-L")],
             created=at(2, 9), shipped=at(1, 11),
             ros=[RO(created=at(2, 9, 20), ref="RMA-FR-81O1")])
    (no,) = add(s)
    plan.fix["typo"] = ("RMA-FR-81O1", "RMA-FR-8101")
    plan.fix_record["typo"] = (COMPANY, no)
    plan.notes["typo"] = ("return order in frgb carries RMA-FR-81O1 (letter O); Swap return "
                          "RMA-FR-8101 has none: one PATCH of CustomersOrderReference under "
                          "If-Match, nothing else")
    # F2: same typo; a colleague re-links the record in F&O while the product is about to PATCH
    s = Spec(ref="RMA-FR-8102", order=order(), cust=cust[46], lines=[L("TEE-WHT-M")],
             created=at(2, 10), shipped=at(1, 12),
             ros=[RO(created=at(2, 10, 20), ref="RMA-FR-81O2")])
    (no,) = add(s)
    plan.fix["stale"] = ("RMA-FR-81O2", "RMA-FR-8102")
    plan.fix_record["stale"] = (COMPANY, no)
    plan.concurrent_edit[(COMPANY, no)] = {"CustomersOrderReference": "RMA-FR-8199"}
    plan.notes["stale"] = ("between the product's read and its PATCH someone sets the link to "
                           "RMA-FR-8199 in F&O: the If-Match ETag is stale (412); the product "
                           "must not apply RMA-FR-8102 over it (R3)")
    # F3: the typo'd return order was received and invoiced: the credit note is posted with it
    s = scenario._done("RMA-FR-8104", order(), cust[47], [L("JEAN-IND-32")], 12)
    s.ros[0].ref = "RMA-FR-81O4"
    (no,) = add(s)
    plan.fix["posted"] = ("RMA-FR-81O4", "RMA-FR-8104")
    plan.fix_record["posted"] = (COMPANY, no)
    plan.notes["posted"] = ("return order invoiced, credit note posted carrying RMA-FR-81O4: no "
                            "write at all (R2; README 'a posted invoice's is not changed')")

    # ---- re-queue ----------------------------------------------------------------------------
    # Q1: approved (Open), in transit, no return order; a mapped SKU (2-pack = 2 ea)
    s = Spec(ref="RMA-FR-8201", order=order(), cust=cust[44],
             lines=[L("HOOD-GRY-L"), L("SOCK-CREW", 1, sku="SOCK-2PK", factor=2)],
             created=at(1, 9), shipped=at(1, 15))
    add(s)
    plan.create["RMA-FR-8201"] = (cust[44].account, [("HOOD-GRY-L", -1), ("SOCK-CREW", -2)])
    plan.notes["RMA-FR-8201"] = ("Open on Swap, no return order: one header + 2 lines (SOCK-2PK "
                                 "mapped to 2 ea SOCK-CREW); re-queued twice")
    # the read world's RETURN_ORDER_MISSING: a return order exists only in the decoy company
    spec6201 = next(r for r in w.swap_returns[scenario.STORE_ID]
                    if r["rma_number"] == "RMA-FR-6201")
    acct6201 = next(c.account for c in cust if c.email == spec6201["customer_email"])
    plan.create["RMA-FR-6201"] = (acct6201, [("SNK-TRL-43", -1)])
    plan.notes["RMA-FR-6201"] = ("Open on Swap; only the decoy legal entity frie has a return "
                                 "order for it: create it in frgb (R5)")
    # Q2: not approved yet
    s = Spec(ref="RMA-FR-8202", order=order(), cust=cust[42], lines=[L("TEE-BLK-M")],
             created=at(1, 10), status_override="Needs Review")
    add(s)
    plan.no_write_reading["RMA-FR-8202"] = (
        "Swap return_status 'Needs Review' (swap §1.3 lists it, no definition): read as "
        "awaiting the merchant's decision, so not approved (R1)")
    # Q3: rejected
    s = Spec(ref="RMA-FR-8203", order=order(), cust=cust[42], lines=[L("CAP-BSB-NVY")],
             created=at(2, 11), status_override="Cancelled")
    add(s)
    plan.no_write["RMA-FR-8203"] = "Swap return_status 'Cancelled': rejected (R1)"
    # Q4: already has its return order in frgb
    s = Spec(ref="RMA-FR-8204", order=order(), cust=cust[39], lines=[L("TEE-WHT-M")],
             created=at(2, 8), shipped=at(1, 9), ros=[RO(created=at(2, 8, 20))])
    add(s)
    plan.no_write["RMA-FR-8204"] = "a return order in frgb already carries the link"
    # the read world's CREDIT_NOTE_MISSING (refunded, lines received, not invoiced): F&O has no
    # OData action that posts a credit note (fo §7.2), and its return order exists
    plan.no_write["RMA-FR-6203"] = ("refunded, return order received but not invoiced: no "
                                    "OData posting exists (fo §7.2), no second return order")
    # Q5: the header POST is committed but its answer is lost (connection dropped)
    s = Spec(ref="RMA-FR-8205", order=order(), cust=cust[38], lines=[L("JEAN-IND-34")],
             created=at(1, 11), shipped=at(1, 16))
    add(s)
    plan.create["RMA-FR-8205"] = (cust[38].account, [("JEAN-IND-34", -1)])
    plan.notes["RMA-FR-8205"] = ("first header POST committed, connection dropped before the "
                                 "answer: one header, one line, over two runs (R4)")
    # Q6: the first line POST is committed but answered 500
    s = Spec(ref="RMA-FR-8206", order=order(), cust=cust[37],
             lines=[L("SNK-TRL-42"), L("CAP-BSB-NVY")], created=at(1, 12), shipped=at(1, 17))
    add(s)
    plan.create["RMA-FR-8206"] = (cust[37].account, [("SNK-TRL-42", -1), ("CAP-BSB-NVY", -1)])
    plan.notes["RMA-FR-8206"] = ("first line POST committed, answered 500: one header, two "
                                 "lines, no duplicate line over two runs (R4)")

    w.swap_returns[scenario.STORE_ID].sort(key=lambda r: (r["date_updated"], r["rma_number"]))
    return w, plan
