"""One planted world for the independent ZigZag (``zigzag``) <-> Dynamics 365 Finance & Operations
(``d365_fo``) check.

Written from docs/vendors/zigzag.md ("zz §x"), docs/vendors/d365-fo.md ("fo §x") and
docs/exceptions.md only. The F&O side reuses the independently written F&O fake and its record
builder (tests/independent/swap_d365_fo: ``FO``, ``RO``, ``CN``, master data, fiscal calendar),
fed with this world's returns; the ZigZag side is fake_zz.py.

The world ("Harbour Bay", ZigZag retailer ``HBR01``; the same API account also holds the
outlet ``HBR02``, zz §1.2 / U4)
  * 30 ZigZag returns of HBR01 (three pages of 10 and an empty fourth): 16 healthy, 14 with
    planted problems; 3 returns of HBR02, which the product must never see or use;
  * F&O legal entity ``frgb`` (the profile's ``company``); the integration writes the ZigZag
    ``returnId`` into the return order's ``CustomersOrderReference`` (11 characters, within the
    20 of fo U14) and the ZigZag ``orderNumber`` into ``CustomerRequisitionNumber`` (fo §5.2);
    every original web sale exists as an F&O sales order + invoice (as the reused builder does);
  * the decoy legal entity ``frie`` carries return orders with our references (fo §1.2).

Time: fixed, ``NOW`` = 2026-11-20T12:00Z (``check --now``). ZigZag gives two times per return:
``dateCreated`` and ``stateChangedDate`` (when the current status began, fake Z5). A Refunded
return's receipt time is not on the wire (zz §3.2: "Received quantities per line and a timestamp
of receipt are UNKNOWN"), so no planted finding depends on it.

CHOICES of this world where the docs are silent (the fake's own are Z1-Z9 in fake_zz.py)
  W1. Stage reading of the six statuses (zz §3.1, §3.2): Pending approval = requested, not yet
      authorised; Approved = authorised (label issued, zz §3.2 Step 1) and so in transit;
      Received = goods at the destination warehouse (§3.2 Step 2); Refunded = money returned
      (and, by the profile default ``refunded_means_received``, received before); Exchange =
      exchanged, no cash refund (zz §7 "Exchange ends without a cash refund"); Rejected =
      terminal, nothing is owed.
  W2. The integration creates the F&O return order when ZigZag approves the return, or at the
      request for some (a Pending approval return with a return order is healthy); posts the
      arrival journal when goods reach the warehouse; invoices (credit note) when ZigZag
      refunds. An Exchange is registered with REPLCRED, packing slip posted (which creates the
      replacement sales order, fo §6.1 step 4) and never invoiced (no money moves). A Rejected
      return has no return order or a Canceled one (fo §6.1 Cancel).
  W3. One order, two warehouses = two ZigZag returns (zz §2 "multiple returns against the
      return order", one per ``dcWarehouse``); each has its own F&O return order carrying its
      own ``returnId`` and the same order number.
  W4. Reasons: ZigZag ``returnReasonId`` is an int (zz §3.4, THG ``returnReasonId: Int!``);
      the mapping table keys them as strings ("1".."5") to F&O return reason codes; the
      header's ``CustomerReturnReasonCode`` is the mapped code.
  W5. Approved returns were approved about 20 h before the check: past the 1 h authorised grace,
      and no receipt is due yet (ZigZag publishes no carrier or transit time). Planted
      Received returns were received 50 h before the check (past the 24 h received grace,
      short of the 72 h inspected one), so only their planted problem is in play; one healthy
      return (H04) is Received 74 h ago as a probe of the inspected stage, which ZigZag cannot
      show (zz §3.4, U15).

Codes this pair cannot show by my reading (so none is planted): every money code
(REFUND_AMOUNT_MISMATCH, TAX_MISMATCH, FEE_ITEM_UNMAPPED, PAYMENT_METHOD_UNMAPPED: no amount,
tax or payment method on the wire, zz §3.5 / U17); CLOSED_PERIOD (it would rest on a refund
date read from a generic "state changed" stamp, and all periods here are open);
LOCATION_UNMAPPED, DISPOSITION_UNMAPPED, DISPOSITION_LOCATION_WRONG, PREMATURE_RESTOCK (no
condition, disposition or location field the profile can read, zz §3.4 / U15);
EXCHANGE_ORDER_MISSING (how an exchange appears is UNKNOWN, zz §3.3 / U14); EXTERNAL_REF_CONFLICT;
PAYLOAD_INVALID (no field is documented as required); STAGE_OVERDUE (no documented clock for
a ZigZag status). CREDIT_WITHOUT_REFUND is planted only on a Rejected return: a credit note
against an Approved or Received return may be a refund made outside ZigZag (zz §3.3, U13) or
a gift card issued at label time (zz §3.3 store credit), so those are not planted.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from ..swap_d365_fo import scenario as fo
from ..swap_d365_fo.scenario import CN, FO, RO, Customer, Line, Spec, ago, at
from . import fake_zz
from .fake_zz import ZZProduct, ZZReturn

RETAILER = "HBR01"
DECOY_RETAILER = "HBR02"
USERNAME = fake_zz.USERNAME
PASSWORD = fake_zz.PASSWORD
NOW = fo.NOW
NOW_ISO = fo.NOW_ISO

# ZigZag returnReasonId -> (text, F&O return reason code, fo §5.5)
REASONS: dict[int, tuple[str, str]] = {
    1: ("Too small", "SIZE"),
    2: ("Too big", "SIZE"),
    3: ("Changed my mind", "UNWANTED"),
    4: ("Faulty", "DEFECT"),
    5: ("Not as described", "DESCR"),
}
UNMAPPED_REASON = (17, "Arrived too late")
# storefront SKU -> (F&O item, F&O units per storefront unit)
SKU_ITEM = {"SOCK-2PK": ("SOCK-CREW", 2), "TOTE-NATURAL-OLD": ("BAG-TOTE-NAT", 1)}
TS_STYLES = ("naive_ms", "z", "utc_offset", "plus1")


@dataclass
class Case:
    key: str
    zz: ZZReturn
    erp: str  # a word for the report
    note: str


class World(fo.World):
    def __init__(self) -> None:
        super().__init__()
        self.check_now_iso = NOW_ISO
        self.cases: dict[str, Case] = {}
        self.zz_returns: list[ZZReturn] = []
        self.aliases: dict[str, str] = {}  # any identifier of our returns -> returnId
        self.erp_only_refs: list[str] = []

    def by_key(self, key: str) -> str:
        return self.cases[key].zz.return_id

    @property
    def ours(self) -> list[ZZReturn]:
        return [r for r in self.zz_returns if r.retailer == RETAILER]


def build_world() -> World:
    w = World()
    cust = fo._customers()
    w.customers = cust
    main = FO(w, fo.COMPANY, "GBP")
    decoy = FO(w, fo.DECOY_COMPANY, "EUR")
    on_hold = cust[40]  # OnHoldStatus All in frgb (fo §5.8, U24)
    payment_hold = cust[41]  # OnHoldStatus Payment: still creditable
    order_seq = iter(range(310001, 319999))
    cust_seq = iter(range(10_000))
    row_seq = iter(range(88101, 89999))
    rorder_seq = iter(range(5501, 5999))
    ship_seq = iter(range(7700101, 7799999))
    style_seq = iter(range(10_000))

    def next_cust() -> Customer:
        return cust[next(cust_seq) % 40]

    def case(key: str, lines: list[tuple[str, int]], state: str, *, created: datetime,
             changed: datetime, ros: list[RO], note: str, c: Customer | None = None,
             reason: int | None = None, order: str | None = None,
             exchange: list[Line] | None = None, retailer: str = RETAILER,
             warehouse: str = "DC-NHM", label: bool = True, fo_co: FO | None = None,
             erp_word: str | None = None) -> Case:
        c = c or next_cust()
        rid = "ZZ" + fo.digits(9, "returnId", key, retailer)
        reason = reason if reason is not None else 1 + int(fo.digits(3, "reason", key)) % 5
        text, code = REASONS.get(reason, (UNMAPPED_REASON[1], ""))
        order_no = order or f"HB{next(order_seq)}"
        option = "Exchange" if fake_zz.canonical(state) == fake_zz.EXCHANGE else "Refund"
        products: list[ZZProduct] = []
        fo_lines: list[Line] = []
        for sku, qty in lines:
            item, factor = SKU_ITEM.get(sku, (sku, 1))
            name, variant, _p, _v = fo.CATALOGUE[item]
            products.append(ZZProduct(sku=sku, quantity=qty, reason_id=reason,
                                      name=f"{name} - {variant}", option=option))
            fo_lines.append(Line(sku=sku, qty=qty, item=item, factor=factor))
        zz = ZZReturn(
            return_id=rid, row_id=next(row_seq), retailer=retailer, order_number=order_no,
            state=state, email=c.email, created=created, state_changed=changed,
            products=products, return_order_id=next(rorder_seq),
            shipment_number=next(ship_seq) if label else None, dc_warehouse=warehouse,
            ts_style=TS_STYLES[next(style_seq) % len(TS_STYLES)])
        w.zz_returns.append(zz)
        if ros:
            co = fo_co or main
            spec = Spec(ref=rid, order=order_no, cust=c, lines=fo_lines, created=created,
                        reason=(str(reason), text, code), ros=ros, exchange=exchange or [])
            co.original_sale(order_no, c, fo_lines, created - timedelta(days=11))
            for r in ros:
                co.return_order(spec, r)
        cs = Case(key=key, zz=zz, erp=erp_word or _erp_word(ros), note=note)
        if retailer == RETAILER:
            w.cases[key] = cs
            w.aliases[rid] = rid
            w.aliases[f"{RETAILER}:{rid}"] = rid
        return cs

    # -- F&O histories (fo §6.1, §6.2) ------------------------------------------------------
    def awaiting(created: datetime, **kw: Any) -> RO:
        return RO(created=created + timedelta(minutes=20), **kw)

    def registered(created: datetime, arrival: datetime, **kw: Any) -> RO:
        return RO(created=created + timedelta(minutes=20), arrival=arrival, **kw)

    def credited(created: datetime, arrival: datetime, refunded: datetime, **kw: Any) -> RO:
        return RO(created=created + timedelta(minutes=20), arrival=arrival,
                  packing_slip=arrival + timedelta(hours=4), cns=[CN(on=refunded.date())], **kw)

    def refunded_case(key: str, lines: list[tuple[str, int]], d: int, state: str, note: str,
                      **kw: Any) -> Case:
        """Created day -d, goods received (F&O arrival) day -(d-3), refunded on ZigZag at
        10:00 on day -(d-4), credit note dated that day (noon, fo §3.4)."""
        created, arrival, refund = at(d, 9), at(d - 3, 11), at(d - 4, 10)
        return case(key, lines, state, created=created, changed=refund,
                    ros=[credited(created, arrival, refund)], note=note, **kw)

    approved_at = ago(hours=20)  # W5
    approved_created = ago(hours=21)

    # ======================================================================= healthy returns
    case("H01", [("TEE-WHT-M", 1), ("CAP-BSB-NVY", 1)], "Approved", created=approved_created,
         changed=approved_at, ros=[awaiting(approved_at)],
         note="approved 20 h ago, two lines; return order Created, lines Awaiting (W2, W5)")
    c = at(5, 9)
    case("H03", [("HOOD-GRY-M", 1)], "received", created=c, changed=at(2, 10),
         ros=[registered(c, at(2, 11))],
         note="Received day -2 10:00 (zz §3.2 Step 2); arrival journal posted 11:00, RESELL")
    c = at(6, 9)
    case("H04", [("JEAN-IND-34", 1)], "RECEIVED", created=c, changed=at(3, 10),
         ros=[registered(c, at(3, 11), packing_slip=at(3, 15))],
         note="PROBE: Received 74 h ago, not yet refunded; F&O registered with RESELL and "
              "packing slip posted (inspected and restocked in the ERP, fo §6.2). ZigZag has "
              "no inspection to report (zz §3.4, U15: restock truth from the ERP) and no clock "
              "for Received -> Refunded (zz §3.2), so nothing is owed")
    refunded_case("H05", [("JEAN-IND-32", 2), ("CAP-BSB-NVY", 1)], 9, "Refunded",
                  note="refunded, two lines (2 + 1 units), credited the refund's day")
    refunded_case("H07", [("SOCK-2PK", 1)], 11, "REFUNDED",
                  note="mapped SKU SOCK-2PK = 2 ea SOCK-CREW; F&O 2 ea, credited")
    c = at(9, 9)
    case("H08", [("TEE-WHT-M", 1)], "Exchange", created=c, changed=at(5, 10),
         ros=[RO(created=c + timedelta(minutes=20), arrival=at(6, 11), disposition="REPLCRED",
                 packing_slip=at(5, 7), replacement=True)],
         exchange=[Line(sku="TEE-BLK-M", qty=1, item="TEE-BLK-M")],
         note="Exchange (size/colour, zz §3.3): REPLCRED, packing slip posted, replacement "
              "sales order created, no credit note (W2)")
    case("H09", [("SNK-TRL-42", 1)], "Rejected", created=at(4, 9), changed=at(3, 10), ros=[],
         label=False, note="rejected while pending approval; never a return order (W2)")
    c = at(5, 9)
    case("H10", [("HOOD-GRY-L", 1)], "rejected", created=c, changed=at(4, 10),
         ros=[RO(created=c + timedelta(minutes=20), canceled=at(4, 11))], label=False,
         note="rejected; the return order made at the request was Canceled while Created "
              "(fo §6.1 Cancel)")
    case("H11", [("BAG-TOTE-NAT", 1)], "PendingApproval", created=ago(minutes=30),
         changed=ago(minutes=30), ros=[], label=False,
         note="requested 30 min ago, pending approval; nothing in F&O (inside any grace)")
    c = at(2, 9)
    case("H12", [("SNK-TRL-43", 1)], "Pending approval", created=c, changed=c,
         ros=[awaiting(c)], label=False,
         note="pending approval 2 days; the integration made the return order at the "
              "request (W2)")
    order = f"HB{next(order_seq)}"
    both = next_cust()
    main.original_sale(order, both, [Line(sku="JEAN-IND-34", qty=1, item="JEAN-IND-34"),
                                     Line(sku="KIDS-TEE-YEL-5", qty=1, item="KIDS-TEE-YEL-5")],
                       at(20, 9))
    refunded_case("H13", [("JEAN-IND-34", 1)], 9, "Refunded", order=order, c=both,
                  warehouse="DC-NHM",
                  note=f"order {order}, first of two returns (main DC, zz §2, W3)")
    refunded_case("H14", [("KIDS-TEE-YEL-5", 1)], 8, "refunded", order=order, c=both,
                  warehouse="DC-DROPSHIP",
                  note=f"order {order}, second return (dropship warehouse, zz §2, W3); its own "
                       f"return order and credit note")
    c = at(4, 9)
    case("H15", [("JKT-RAIN-NVY-M", 1)], "received", created=c, changed=ago(hours=6),
         ros=[awaiting(c)],
         note="Received 6 h ago, not yet registered in F&O: within the 24 h received grace "
              "(a delay at most, exceptions.md §2)")
    refunded_case("H16", [("HOOD-GRY-M", 1)], 10, "Refunded", c=payment_hold,
                  note="customer on hold for Payment only: creditable (fo §5.8, U24)")
    case("H17", [("SCARF-WOOL-GRN", 1)], "APPROVED", created=approved_created,
         changed=approved_at, ros=[awaiting(approved_at)],
         note="item with procurement (not sales) stopped: returnable (fo U23)")
    refunded_case("H18", [("TEE-BLK-M", 1)], 40, "Refunded",
                  note="refunded and credited in October (open period)")

    # ====================================================================== planted problems
    case("P01", [("SNK-TRL-43", 1)], "Approved", created=ago(2, 1), changed=ago(2),
         ros=[], note="approved 2 days ago; no return order in frgb (the decoy company has one)")
    w.plant(w.by_key("P01"), "RETURN_ORDER_MISSING",
            "zz §3.1/§3.2 Approved 48 h before the check (label issued, Step 1); no "
            "ReturnOrderHeadersV2 in frgb carries the returnId (a frie one does, fo §1.2)")
    c = at(7, 9)
    case("P02", [("HOOD-GRY-L", 1)], "Received", created=c, changed=at(2, 10),
         ros=[awaiting(c)], note="Received 50 h ago; F&O lines still Awaiting")
    w.plant(w.by_key("P02"), "RECEIPT_NOT_POSTED",
            "zz §3.2 Step 2: Received = items physically at the warehouse, 50 h before the "
            "check (grace 24 h); the F&O return order has no arrival (lines Awaiting, fo §6.2)")
    c = at(8, 9)
    case("P03", [("JEAN-IND-32", 1)], "Refunded", created=c, changed=at(3, 10),
         ros=[registered(c, at(4, 11), packing_slip=at(4, 15))],
         note="refunded 3 days ago; registered and packing slip posted, never invoiced")
    w.plant(w.by_key("P03"), "CREDIT_NOTE_MISSING",
            "zz §3.1 Refunded ('You have already refunded the customer') 74 h ago; F&O lines "
            "Received, no SalesInvoiceHeadersV2 for the return order (fo §5.7, §6.1 step 5)")
    c = at(9, 9)
    case("P04", [("HOOD-GRY-M", 1)], "Refunded", created=c, changed=at(5, 10),
         ros=[credited(c, at(6, 11), at(5, 10)),
              credited(c + timedelta(minutes=40), at(6, 11), at(5, 10))],
         note="the return order was created twice and both were invoiced")
    w.plant(w.by_key("P04"), "CREDIT_NOTE_DUPLICATE",
            "fo §7.1 (no idempotency) / §5.7: two return orders carry the returnId, each "
            "invoiced: two credit notes for one ZigZag refund (exceptions.md: same link key)")
    w.plant(w.by_key("P04"), "QUANTITY_MISMATCH",
            "same duplicate: 2 units of HOOD-GRY-M registered in F&O (fo §5.3) for the 1 the "
            "ZigZag return holds (zz §3.2: one return, quantity 1)")
    c = at(6, 9)
    case("P05", [("TEE-BLK-M", 1)], "REJECTED", created=c, changed=at(5, 14),
         ros=[RO(created=c + timedelta(minutes=20), disposition="CREDONLY",
                 cns=[CN(on=at(3, 10).date())])], label=False,
         note="rejected in ZigZag; F&O credited it anyway (Credit only, no arrival)")
    w.plant(w.by_key("P05"), "CREDIT_WITHOUT_REFUND",
            "zz §3.1 Rejected ('You rejected the return', terminal): no refund is owed, yet a "
            "credit note was posted in F&O on day -3 (fo §5.7, §6.1 'Credit only' path)")
    c = at(6, 9)
    case("P06", [("HOOD-GRY-L", 2)], "Received", created=c, changed=at(2, 10),
         ros=[registered(c, at(2, 11), qty={"HOOD-GRY-L": 1})],
         note="two units received on ZigZag, one unit on the F&O return order")
    w.plant(w.by_key("P06"), "QUANTITY_MISMATCH",
            "zz §3.2 Received, products quantity 2; F&O ReturnSalesQuantity -1, registered 1 "
            "(fo §5.3)")
    case("P07", [("TOTE-NATURAL-OLD", 1)], "Approved", created=approved_created,
         changed=approved_at, ros=[awaiting(approved_at, lines=False)],
         note="legacy SKU; the return order has a header and no lines")
    w.plant(w.by_key("P07"), "SKU_UNKNOWN",
            "zz §3.5 (orders link to products by SKU): productSku TOTE-NATURAL-OLD is no "
            "ReleasedProductsV2 item and has no mapping (fo §5.8)")
    case("P08", [("JKT-RAIN-NVY-L", 1)], "Approved", created=approved_created,
         changed=approved_at, ros=[awaiting(approved_at)], note="item sales-stopped in frgb")
    w.plant(w.by_key("P08"), "SKU_INACTIVE",
            "fo §5.8 / U23: ProductDefaultOrderSettings JKT-RAIN-NVY-L "
            "IsSalesProcessingStopped Yes in frgb")
    c = at(6, 9)
    case("P09", [("SOCK-2PK", 1)], "Received", created=c, changed=at(2, 10),
         ros=[registered(c, at(2, 11), qty={"SOCK-CREW": 1}, unit={"SOCK-CREW": "PK"})],
         note="registered as 1 PK")
    w.plant(w.by_key("P09"), "UOM_MISMATCH",
            "mapping SOCK-2PK -> 2 ea SOCK-CREW; the F&O return line is 1 PK (fo §5.3 "
            "SalesUnitSymbol); the healthy twin H07 has 2 ea")
    case("P10", [("JEAN-IND-32", 1)], "Approved", created=approved_created,
         changed=approved_at, ros=[awaiting(approved_at)], c=on_hold,
         note="customer on hold for All")
    w.plant(w.by_key("P10"), "CUSTOMER_NOT_FOUND",
            f"fo §5.8 / U24: CustomersV3 {on_hold.account} OnHoldStatus All in frgb")
    case("P11", [("TEE-WHT-M", 1)], "Approved", created=approved_created,
         changed=approved_at, ros=[awaiting(approved_at, reason="")],
         reason=UNMAPPED_REASON[0], note="reason id 17 has no mapping")
    w.plant(w.by_key("P11"), "REASON_UNMAPPED",
            "zz §3.4 (reasons are ids, no published list): returnReasonId 17 is not in the "
            "profile's reason mapping and is no ReturnReasonCodeBiEntities code; the header's "
            "CustomerReturnReasonCode is blank (fo §5.5)")
    p12 = refunded_case("P12", [("SNK-TRL-42", 1)], 10, "Refunded",
                        note="fully processed, but F&O carries no order number")
    _blank_requisition(w, p12.zz.return_id)
    w.plant(p12.zz.return_id, "ORDER_REF_MISSING",
            "zz §3.5 order number = the primary order key and join key; the F&O return order "
            "and its credit note have a blank CustomerRequisitionNumber (fo §5.2, the "
            "profile's order_field) while ZigZag says order " + p12.zz.order_number)
    c = at(7, 9)
    case("P13", [("CAP-BSB-NVY", 1)], "Received", created=c, changed=at(2, 10),
         ros=[RO(created=c + timedelta(minutes=20), canceled=at(6, 10))],
         note="Received 2 days ago; its only return order was Canceled")
    w.plant(w.by_key("P13"), "RETURN_ORDER_NOT_OPEN",
            "zz §3.2 Received 50 h ago; the only return order is Canceled (header and line, "
            "fo §6.1 Cancel / §6.2): nothing can be registered on it")
    c = at(10, 9)
    case("P14", [("JKT-RAIN-NVY-M", 1)], "Refunded", created=c, changed=at(6, 10),
         ros=[credited(c, at(5, 11), at(5, 12))],
         note="refunded day -6 10:00; F&O arrival day -5 11:00, credit note day -5")
    w.plant(w.by_key("P14"), "CREDIT_BEFORE_RECEIPT",
            "exceptions.md §2 note: refunded on ZigZag day -6 10:00 (stateChangedDate), F&O "
            "arrival journal posted day -5 11:00; zz §3.3: credit can precede receipt")

    # -- the outlet retailer HBR02 (same account, zz §1.2 / U4; fake Z2) ---------------------
    d1 = refunded_case("D1", [("TEE-WHT-M", 1)], 9, "Refunded", retailer=DECOY_RETAILER,
                       note="HBR02's return; F&O of Harbour Bay (frgb) carries its returnId")
    w.erp_only_refs.append(d1.zz.return_id)
    w.aliases[d1.zz.return_id] = d1.zz.return_id
    w.plant(d1.zz.return_id, "ERP_RECORD_UNLINKED",
            "zz §1.2 / U4 (reads are per retailer code): the frgb return order's "
            "CustomersOrderReference is an HBR02 returnId, which no HBR01 read returns")
    case("D2", [("HOOD-GRY-M", 1)], "Approved", created=approved_created, changed=approved_at,
         ros=[], retailer=DECOY_RETAILER, note="HBR02, approved, no F&O record in frgb")
    case("D3", [("SNK-TRL-43", 1)], "Received", created=at(3, 9), changed=at(1, 10),
         ros=[], retailer=DECOY_RETAILER, note="HBR02, received")

    # -- another channel's return order in frgb ----------------------------------------------
    ebay = Spec(ref="EBAY-3391-R", order="EB-3391", cust=next_cust(),
                lines=[Line(sku="CAP-BSB-NVY", qty=1, item="CAP-BSB-NVY")], created=at(4, 9),
                reason=("3", *REASONS[3]), ros=[awaiting(at(4, 9))])
    main.original_sale(ebay.order, ebay.cust, ebay.lines, at(15, 9))
    main.return_order(ebay, ebay.ros[0])
    w.erp_only_refs.append("EBAY-3391-R")
    w.aliases["EBAY-3391-R"] = "EBAY-3391-R"
    w.plant("EBAY-3391-R", "ERP_RECORD_UNLINKED",
            "fo §5.2: return order CustomersOrderReference EBAY-3391-R matches no ZigZag "
            "return of HBR01")

    # -- noise in frgb: a call-centre return order with NO reference, credited ---------------
    manual = Spec(ref="", order="CC-20417", cust=cust[43],
                  lines=[Line(sku="SCARF-WOOL-GRN", qty=1, item="SCARF-WOOL-GRN")],
                  created=at(12, 9), reason=("4", *REASONS[4]),
                  ros=[credited(at(12, 9), at(9, 11), at(8, 10))])
    main.original_sale(manual.order, manual.cust, manual.lines, at(20, 9))
    main.return_order(manual, manual.ros[0])
    main.master_data(cust, {on_hold.account: "All", payment_hold.account: "Payment"})

    # -- the decoy legal entity frie (fo §1.2): would hide P01 / P03 if read -----------------
    decoy.master_data(cust[:44], {cust[0].account: "All"})
    for key, ros in (("P01", [awaiting(ago(2))]),
                     ("P03", [credited(at(8, 9), at(4, 11), at(3, 10))])):
        cs = w.cases[key]
        line = cs.zz.products[0]
        ghost = Spec(ref=cs.zz.return_id, order="990" + key[1:], cust=cust[1],
                     lines=[Line(sku=line.sku, qty=line.quantity, item=line.sku)],
                     created=at(8, 9), reason=("1", *REASONS[1]), ros=ros)
        decoy.original_sale(ghost.order, ghost.cust, ghost.lines, at(20, 9))
        for r in ros:
            decoy.return_order(ghost, r)
    fo.fiscal_calendar(w)

    # -- the profile's mapping table -----------------------------------------------------------
    w.mappings = {
        "skus": {"SOCK-2PK": {"sku": "SOCK-2PK", "item_no": "SOCK-CREW", "factor": "2",
                              "erp_uom": "ea"}},
        "reasons": {str(rid): code for rid, (_t, code) in REASONS.items()},
        "dispositions": {},
        "locations": {},
        "fees": {},
        "payment_methods": {},
        "identity_fallback": True,
    }
    return w


def _erp_word(ros: list[RO]) -> str:
    words = []
    for r in ros:
        if r.canceled:
            words.append("canceled")
        elif r.cns:
            words.append("credited" + ("x2" if len(r.cns) > 1 else ""))
        elif r.packing_slip:
            words.append("received")
        elif r.arrival:
            words.append("registered")
        else:
            words.append("awaiting")
    return "+".join(words) or "nothing"


def _blank_requisition(w: World, ref: str) -> None:
    """The integration forgot the order number: blank on the return order and its credit
    note (frgb only)."""
    for entity in ("ReturnOrderHeadersV2", "SalesInvoiceHeadersV2"):
        for rec in w.fo.get(entity, []):
            if rec.get("dataAreaId") == fo.COMPANY and rec.get("CustomersOrderReference") == ref:
                rec["CustomerRequisitionNumber"] = ""


if __name__ == "__main__":  # pragma: no cover - a quick look at the world
    world = build_world()
    print(len(world.ours), "HBR01 returns;", len(world.zz_returns), "in all")
    for k, cs in world.cases.items():
        print(k, cs.zz.return_id, cs.zz.state, cs.erp, "-", cs.note)
    for pair in sorted(world.truth):
        print(pair, "-", world.plant_notes[pair])
