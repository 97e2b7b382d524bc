"""One planted world for the independent Happy Returns (``happy_returns``) <-> Dynamics 365
Finance & Operations (``d365_fo``) check.

Written from docs/vendors/happy-returns.md ("hr §x"), docs/vendors/d365-fo.md ("fo §x") and
docs/exceptions.md only. The F&O side reuses the independently written F&O fake and its record
builder (tests/independent/swap_d365_fo: ``FO``, ``RO``, ``CN``, master data), fed with this
world's returns; the Happy Returns side is fake_hr.py.

The world ("Harbour Lane", retailer id ``harbour-lane``; a second retailer on the same partner
key, ``harbour-lane-outlet``, hr §1.1, U23)
  * 33 Happy Returns returns of harbour-lane: 22 healthy, 11 with planted problems, plus two
    returns of the other retailer (one reusing a harbour-lane express code: express codes are
    unique only "to this return and your store", hr §5.1);
  * one of the healthy returns (LK1) was never delivered by webhook: only a look-up finds it
    (hr §2.5: no list endpoint; the ERP knows its express code);
  * F&O legal entity ``frgb`` (the profile's company); the integration writes the Happy Returns
    express code into the return order's ``CustomersOrderReference`` (fo §5.2; 8 characters,
    within the 20 of fo U14; a 36-character happyReturnsReturnID would not fit, so no document
    carries it) for most returns and the retailer's own ``externalRMAID`` for three; the web
    order number into ``CustomerRequisitionNumber``.

Time. Happy Returns payloads carry no event time (hr §4.4, U13, U14): the only time the product
can give an event is when its delivery arrived. So the world is built around WALL, the real
time the test runs: every delivery is POSTed at WALL (a backlog replayed at once), the F&O
history is dated around it, and ``check --now`` is WALL + 2 days:
  * approved returns: goods registered in F&O at WALL-2d (before the refund became known, so no
    reading of CREDIT_BEFORE_RECEIPT applies), credit note dated the first calendar day whose
    noon is after WALL (within the 24 h credited grace, exceptions.md §2);
  * returns the retailer has registered but not yet approved in Happy Returns (mail, hr §5.3:
    "Approve mail returns via API upon receipt and inspection"): registered at WALL+20 h, 28 h
    before the check (inside the 72 h inspected grace);
  * 48 h between the deliveries and the check: past the authorised (1 h) and credited (24 h)
    graces, short of the inspected one (72 h).

CHOICES of this world where the docs are silent (the fake's own are in fake_hr.py)
  W1. The return's reference the product reports (``return_ref``) is not fixed by the docs: the
      score accepts any of a return's three identifiers (express code, happyReturnsReturnID,
      externalRMAID) as naming it, and reports which one the product used.
  W2. A Return Bar return is dropped off and approved in the same minute (hr §5.3 "the refund is
      initiated instantly"), so it arrives as one delivery: ``approved`` primary,
      ``dropped_off`` in ``otherEvents`` (hr §4.2). A mail return: started, dropped off (carrier)
      and approved (after receipt and inspection) are three deliveries.
  W3. A multi-order return (hr §4.2) has ONE F&O return order carrying both orders' lines; its
      ``CustomerRequisitionNumber`` is the first order number (hr §4.2: "we will display the
      first order number available").
  W4. An expired return whose F&O return order was cancelled is healthy; so is a started or
      dropped-off return whose return order awaits the goods.
  W5. Reasons: items carry ``returnReasonID`` (fake C2); every value used is in the mapping
      table and on the F&O return order, so no reason finding is planted (the field is not in
      the visible sample, so whether the product reads it is open).

Codes this pair cannot show by my reading (so none is planted): money codes
(REFUND_AMOUNT_MISMATCH, TAX_MISMATCH, FEE_ITEM_UNMAPPED, PAYMENT_METHOD_UNMAPPED,
CLOSED_PERIOD: no amount, method or refund date in any payload, hr §5.5, U16); RECEIPT_NOT_POSTED,
CREDIT_BEFORE_RECEIPT, LOCATION_UNMAPPED (nothing about the retailer's warehouse, hr §6);
DISPOSITION_* (no condition in return.asn, hr §5.4); EXCHANGE_ORDER_MISSING (U25);
PREMATURE_RESTOCK; PAYLOAD_INVALID (no field is documented as required); STAGE_OVERDUE and
RETURN_ORDER_NOT_OPEN (their clocks or their stage would rest on undocumented statuses).
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

from ..swap_d365_fo import scenario as fo
from ..swap_d365_fo.scenario import CN, FO, RO, Customer, Line, Spec
from . import fake_hr
from .fake_hr import (
    APPROVED,
    DROPPED_OFF,
    EXPIRED,
    MAIL,
    METHOD,
    RETURN_BAR,
    STARTED,
    STATUS,
    Delivery,
    HRReturn,
    Unit,
)

RETAILER_ID = "harbour-lane"
DECOY_RETAILER_ID = "harbour-lane-outlet"
API_KEY = fake_hr.API_KEY
WEBHOOK_SECRET = fake_hr.WEBHOOK_SECRET
CHECK_AFTER = timedelta(days=2)

# Happy Returns returnReasonID -> (text, F&O return reason code, fo §5.5)
REASONS: dict[str, tuple[str, str]] = {
    "too-small": ("Too small", "SIZE"),
    "too-big": ("Too big", "SIZE"),
    "changed-mind": ("Changed my mind", "UNWANTED"),
    "defective": ("Defective", "DEFECT"),
    "not-as-described": ("Not as described", "DESCR"),
}
# storefront SKU -> (F&O item, F&O units per storefront unit)
SKU_ITEM = {"SOCK-2PK": ("SOCK-CREW", 2), "TOTE-NATURAL-OLD": ("BAG-TOTE-NAT", 1)}
ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"


def _h(*parts: object) -> int:
    return int(hashlib.sha256("/".join(str(p) for p in parts).encode()).hexdigest(), 16)


def express_code(label: str) -> str:
    n = _h("express", label)
    code = ""
    for _ in range(6):
        n, r = divmod(n, len(ALPHABET))
        code += ALPHABET[r]
    return "HR" + code


def return_uuid(label: str) -> str:
    return str(uuid.UUID(int=_h("uuid", label) % (1 << 128), version=4))


def digits(n: int, *parts: object) -> str:
    return str(_h(*parts))[:n]


@dataclass
class Case:
    key: str
    hr: HRReturn
    link: str  # what the F&O documents carry
    erp: str  # a word for the report
    note: str
    deliver: bool = True
    send: str = "normal"  # "normal" | "reverse"
    dupes: list[int] = field(default_factory=list)  # delivery indexes sent again at the end
    label: bool = False


class World(fo.World):
    def __init__(self, wall: datetime) -> None:
        super().__init__()
        self.wall = wall
        self.check_now = wall + CHECK_AFTER
        self.check_now_iso = self.check_now.strftime("%Y-%m-%dT%H:%M:%SZ")
        self.cases: dict[str, Case] = {}
        self.hr_returns: list[HRReturn] = []
        self.plan: list[tuple[str, Delivery, str]] = []  # (label, delivery, expect)
        self.aliases: dict[str, str] = {}  # any identifier of our returns -> express code
        self.lookup_only: list[str] = []  # express codes only a look-up can find
        self.erp_only_refs: list[str] = []  # F&O links Happy Returns does not know for us
        self.forged_target: str = ""

    @property
    def credit_day(self) -> date:
        """The first calendar day whose noon (F&O date-only, fo §3.4) is after WALL."""
        return self.wall.date() if self.wall.hour < 12 else self.wall.date() + timedelta(days=1)

    def by_key(self, key: str) -> str:
        return self.cases[key].hr.express_code


def _moments(method: str, status: str, method_change: str | None = None
             ) -> list[list[tuple[str, str]]]:
    """W2: the merged moments of a return's life up to `status`."""
    m: list[list[tuple[str, str]]] = [[(STATUS, STARTED), (METHOD, method)]]
    if method_change:
        m.append([(METHOD, method_change)])
    if status == STARTED:
        return m
    if status == EXPIRED:
        return [*m, [(STATUS, EXPIRED)]]
    if method == RETURN_BAR:
        assert status == APPROVED, "a Return Bar return in this world is started or approved"
        return [*m, [(STATUS, DROPPED_OFF), (STATUS, APPROVED)]]
    m.append([(STATUS, DROPPED_OFF)])
    if status == APPROVED:
        m.append([(STATUS, APPROVED)])
    return m


def build_world(wall: datetime | None = None) -> World:
    if wall is None:
        wall = datetime.now(UTC).replace(microsecond=0)
    w = World(wall)
    cust = fo._customers()
    w.customers = cust
    main = FO(w, fo.COMPANY, "GBP")
    decoy = FO(w, fo.DECOY_COMPANY, "EUR")
    on_hold = cust[40]  # OnHoldStatus All in frgb (fo §5.8, U24)
    payment_hold = cust[41]  # OnHoldStatus Payment: still creditable
    order_seq = iter(range(310001, 319999))
    cust_seq = iter(range(10_000))
    created = wall - timedelta(days=5)
    # hr §5.2: purchasedAt with the shop's offset, as the sample (-05:00)
    purchased = (wall - timedelta(days=14)).replace(hour=21, minute=26, second=5).astimezone(
        timezone(timedelta(hours=-5)))
    reg_before = wall - timedelta(days=2)  # goods registered before the refund became known
    reg_after = wall + timedelta(hours=20)  # registered, the retailer has not approved yet
    cday = w.credit_day

    def next_cust() -> Customer:
        return cust[next(cust_seq) % 40]

    # -- F&O return order states (fo §6.1, §6.2) ----------------------------------------------
    def ro(state: str, k: int, **kw: Any) -> RO:
        c0 = created + timedelta(minutes=10 + k)
        if state == "awaiting":
            return RO(created=c0, **kw)
        if state == "registered":  # arrival journal posted, not yet packed or invoiced
            return RO(created=c0, arrival=reg_after, **kw)
        if state == "received":  # registered and packing slip posted, not invoiced
            return RO(created=c0, arrival=reg_before, packing_slip=reg_before
                      + timedelta(hours=4), **kw)
        if state == "credited":
            return RO(created=c0, arrival=reg_before, packing_slip=reg_before
                      + timedelta(hours=4), cns=[CN(on=cday)], **kw)
        if state == "credited_late_goods":  # registered, credited (not approved)
            # The credit note's date is sent at noon UTC (fo §3.4): dated the first noon
            # after the packing slip, it is 25-49 h old at the check (WALL + 2 days), past
            # the 24 h grace at any time of day. (It was dated the day after WALL with the
            # goods registered after WALL: 12-36 h old, within the grace before noon UTC.)
            slip = wall - timedelta(hours=1)
            noon = datetime.combine(slip.date(), datetime.min.time(), UTC) + timedelta(hours=12)
            return RO(created=c0, arrival=wall - timedelta(hours=2), packing_slip=slip,
                      cns=[CN(on=(noon if noon > slip else noon + timedelta(days=1)).date())],
                      **kw)
        if state == "canceled":
            return RO(created=c0, canceled=wall - timedelta(days=3), **kw)
        raise ValueError(state)

    def case(key: str, lines: list[tuple[str, int, int]], *, method: str, status: str,
             erp: list[str], note: str, c: Customer | None = None, ext: bool = False,
             link: str = "express", orders: int = 1, retailer: str = RETAILER_ID,
             code: str | None = None, deliver: bool = True, method_change: str | None = None,
             ro_kw: dict[str, Any] | None = None, **flags: Any) -> Case:
        """lines: (storefront sku, units returned, units on the order line)."""
        c = c or next_cust()
        express = code or express_code(key)
        rid = return_uuid(key + retailer)
        reason = list(REASONS)[_h("reason", key) % len(REASONS)]
        order_nos = [str(next(order_seq)) for _ in range(orders)]
        units: list[Unit] = []
        fo_lines: list[Line] = []
        by_order: dict[str, list[Line]] = {o: [] for o in order_nos}
        for j, (sku, n, ordered) in enumerate(lines):
            on = order_nos[j % orders]
            item, factor = SKU_ITEM.get(sku, (sku, 1))
            name, variant, _p, _v = fo.CATALOGUE[item]
            line_id = "13" + digits(12, "line", key, j)
            for off in range(n):
                units.append(Unit(
                    sku=sku, product_name=f"{name} - {variant}", order_number=on,
                    order_id="5" + digits(12, "order", on), line_id=line_id, offset=off,
                    total=ordered, upc="0" + digits(11, "upc", sku),
                    variant_id="3" + digits(13, "variant", sku), reason_id=reason,
                    item_id="hri_" + digits(10, "item", key, j, off)))
            ln = Line(sku=sku, qty=n, item=item, factor=factor)
            fo_lines.append(ln)
            by_order[on].append(Line(sku=sku, qty=ordered, item=item, factor=factor))
        ext_id = f"RMA{created:%Y%m%d}{key.replace('-', '')}" if ext else ""
        hr = HRReturn(
            return_id=rid, express_code=express, retailer_id=retailer, email=c.email,
            external_rma_id=ext_id, dropoff_method=method, purchased_at=purchased,
            units=units, moments=_moments(method, status, method_change),
            label_id="HR2" + digits(9, "bag", key) if flags.get("label") else None)
        w.hr_returns.append(hr)
        link_value = ext_id if link == "ext" else express
        if erp:
            spec = Spec(ref=link_value, order=order_nos[0], cust=c, lines=fo_lines,
                        created=created, reason=(reason, *REASONS[reason]))
            spec.ros = [ro(state, k, **(ro_kw or {})) for k, state in enumerate(erp)]
            for on in order_nos:
                main.original_sale(on, c, by_order[on], purchased)
            for r in spec.ros:
                main.return_order(spec, r)
        cs = Case(key=key, hr=hr, link=link_value, erp="+".join(erp) or "nothing",
                  note=note, deliver=deliver, **flags)
        if retailer == RETAILER_ID:
            w.cases[key] = cs
            for alias in (hr.express_code, hr.return_id, hr.external_rma_id):
                if alias:
                    w.aliases[alias] = hr.express_code
            if not deliver:
                w.lookup_only.append(hr.express_code)
        return cs

    # ======================================================================= healthy returns
    case("H01", [("TEE-WHT-M", 1, 1)], method=RETURN_BAR, status=APPROVED, erp=["credited"],
         send="reverse", dupes=[1], label=True,
         note="Return Bar, approved; approval delivered BEFORE the start, and twice (hr §4.2, "
              "U13, U14)")
    case("H02", [("HOOD-GRY-M", 1, 2)], method=RETURN_BAR, status=APPROVED, erp=["credited"],
         note="Return Bar, approved (one unit of two ordered: suffix -0-2)")
    case("H03", [("JEAN-IND-32", 1, 1)], method=RETURN_BAR, status=APPROVED,
         erp=["credited"], label=True, note="Return Bar, approved; bag label update (hr §8.2)")
    case("H04", [("SCARF-WOOL-GRN", 1, 1)], method=RETURN_BAR, status=APPROVED,
         erp=["credited"], note="item with procurement (not sales) stopped: returnable (fo U23)")
    case("H05", [("SNK-TRL-42", 1, 1)], method=MAIL, status=APPROVED, erp=["credited"],
         note="mail: started, dropped off, approved after inspection; three deliveries")
    case("H06", [("JKT-RAIN-NVY-M", 1, 1)], method=MAIL, status=APPROVED, erp=["credited"],
         ext=True, note="mail, approved; has an externalRMAID, F&O carries the express code")
    case("H07", [("JEAN-IND-34", 2, 3)], method=RETURN_BAR, status=APPROVED,
         erp=["credited"], note="two of three units of one line: items -0-3 and -1-3 = qty 2 "
                                "(hr §5.1, §9)")
    case("H08", [("TEE-BLK-M", 1, 1), ("CAP-BSB-NVY", 1, 1)], method=RETURN_BAR,
         status=APPROVED, erp=["credited"], note="two lines, approved")
    case("H09", [("BAG-TOTE-NAT", 1, 1)], method=RETURN_BAR, status=STARTED,
         erp=["awaiting"], method_change=MAIL,
         note="started at a Return Bar, the customer then chose mail: a drop-off-method-only "
              "delivery (primary event return_dropoff_method_created) changes no status")
    case("H10", [("HOOD-GRY-L", 1, 1)], method=MAIL, status=DROPPED_OFF, erp=["awaiting"],
         note="mail in transit; return order awaiting the goods")
    case("H11", [("SNK-TRL-43", 1, 1)], method=MAIL, status=DROPPED_OFF, erp=["registered"],
         note="mail: registered in F&O 28 h before the check, approval in Happy Returns "
              "pending (hr §5.3)")
    case("H12", [("TEE-WHT-M", 1, 1)], method=MAIL, status=EXPIRED, erp=["canceled"],
         note="expired before drop-off; the return order was cancelled (W4)")
    case("H13", [("JEAN-IND-32", 1, 1)], method=MAIL, status=APPROVED, erp=["credited"],
         ext=True, link="ext", note="linked by externalRMAID (link_ref auto), approved, credited")
    case("H14", [("CAP-BSB-NVY", 1, 1)], method=RETURN_BAR, status=STARTED,
         erp=["awaiting"], ext=True, link="ext",
         note="linked by externalRMAID, started; another retailer's return has the SAME express "
              "code and is approved (hr §5.1 'unique to ... your store'; U23)")
    case("H15", [("TEE-BLK-M", 1, 1), ("HOOD-GRY-M", 1, 1)], method=RETURN_BAR,
         status=APPROVED, erp=["credited"], orders=2,
         note="one return over two orders: two deliveries per moment, one F&O return order "
              "(hr §4.2, W3)")
    case("H16", [("SOCK-2PK", 1, 1)], method=RETURN_BAR, status=APPROVED, erp=["credited"],
         note="mapped SKU: SOCK-2PK = 2 ea SOCK-CREW; F&O 2 ea")
    case("H17", [("JEAN-IND-34", 1, 1)], method=RETURN_BAR, status=APPROVED,
         erp=["credited"], c=payment_hold,
         note="customer on hold for Payment only: credit allowed (fo §5.8, U24)")
    case("H18", [("SNK-TRL-43", 1, 1)], method=MAIL, status=APPROVED, erp=["credited"],
         send="reverse",
         note="mail approved; its three deliveries arrive newest first (U13: never moved back)")
    case("H19", [("JKT-RAIN-NVY-M", 1, 1)], method=MAIL, status=DROPPED_OFF,
         erp=["awaiting"], note="in transit; a FORGED 'approved' delivery for it must be "
                                "refused (hr §4.3)")
    w.forged_target = "H19"
    case("H20", [("HOOD-GRY-L", 1, 1)], method=RETURN_BAR, status=APPROVED, erp=["credited"],
         ext=True, note="approved, has an externalRMAID too; delivered twice", dupes=[0, 1])
    case("H21", [("TEE-WHT-M", 1, 1)], method=MAIL, status=STARTED, erp=["awaiting"],
         note="mail label issued, not yet dropped off")
    case("LK1", [("SNK-TRL-42", 1, 1)], method=RETURN_BAR, status=APPROVED,
         erp=["credited"], deliver=False,
         note="NO webhook delivered (missed): only POST /return by its express code finds it "
              "(hr §2.5, §2.3); approved, credited: healthy once looked up")

    # ====================================================================== planted problems
    case("P01", [("SNK-TRL-43", 1, 1)], method=MAIL, status=DROPPED_OFF, erp=[], label=True,
         note="no return order")
    w.plant(w.by_key("P01"), "RETURN_ORDER_MISSING",
            "hr §4.1 started + dropped off 48 h before the check; no ReturnOrderHeadersV2 in frgb "
            "carries the express code (a decoy-company one does, fo §1.2)")
    case("P02", [("HOOD-GRY-M", 1, 1)], method=RETURN_BAR, status=APPROVED,
         erp=["received"], dupes=[1], note="approved, no credit note")
    w.plant(w.by_key("P02"), "CREDIT_NOTE_MISSING",
            "hr §4.1/§5.3 approved for a refund 48 h ago (approved_credits, hr U17); F&O lines "
            "Received, no credit note (fo §5.7, §6.1 step 5)")
    case("P03", [("JEAN-IND-32", 1, 1)], method=RETURN_BAR, status=APPROVED,
         erp=["credited", "credited"], note="two return orders, each invoiced")
    w.plant(w.by_key("P03"), "CREDIT_NOTE_DUPLICATE",
            "fo §7.1 (no idempotency): two return orders carry the express code, each with a "
            "credit note (exceptions.md: two credit notes with one link key)")
    w.plant(w.by_key("P03"), "QUANTITY_MISMATCH",
            "same duplicate: 2 units registered in F&O for the 1 item Happy Returns verified "
            "at the Return Bar (hr §4.2: one item = one physical unit)")
    case("P04", [("TEE-BLK-M", 1, 1)], method=MAIL, status=DROPPED_OFF,
         erp=["credited_late_goods"], note="credited in F&O, not approved in Happy Returns")
    w.plant(w.by_key("P04"), "CREDIT_WITHOUT_REFUND",
            "hr §5.3: a mail return is refunded only when approved; it is only dropped off, yet "
            "F&O posted a credit note (fo §5.7)")
    case("P05", [("HOOD-GRY-L", 2, 2)], method=RETURN_BAR, status=APPROVED,
         erp=["credited"], ro_kw={"qty": {"HOOD-GRY-L": 1}},
         note="two items verified at the bar, one unit in F&O")
    w.plant(w.by_key("P05"), "QUANTITY_MISMATCH",
            "hr §4.2/§5.1: two items (-0-2, -1-2) = 2 units approved; F&O ReturnSalesQuantity "
            "-1, registered and credited 1 (fo §5.3)")
    case("P06", [("TOTE-NATURAL-OLD", 1, 1)], method=MAIL, status=DROPPED_OFF,
         erp=["awaiting"], ro_kw={"lines": False}, note="legacy SKU, header only")
    w.plant(w.by_key("P06"), "SKU_UNKNOWN",
            "hr §5.2 item sku TOTE-NATURAL-OLD is no ReleasedProductsV2 item and has no mapping "
            "(fo §5.8); the return order has a header and no lines")
    case("P07", [("JKT-RAIN-NVY-L", 1, 1)], method=MAIL, status=DROPPED_OFF,
         erp=["awaiting"], note="item sales-stopped")
    w.plant(w.by_key("P07"), "SKU_INACTIVE",
            "fo §5.8 / U23: ProductDefaultOrderSettings JKT-RAIN-NVY-L IsSalesProcessingStopped "
            "Yes in frgb")
    case("P08", [("SOCK-2PK", 1, 1)], method=MAIL, status=DROPPED_OFF, erp=["registered"],
         ro_kw={"qty": {"SOCK-CREW": 1}, "unit": {"SOCK-CREW": "PK"}},
         note="registered as 1 PK")
    w.plant(w.by_key("P08"), "UOM_MISMATCH",
            "mapping SOCK-2PK -> 2 ea SOCK-CREW; the F&O return line is 1 PK (fo §5.3 "
            "SalesUnitSymbol); the healthy twin H16 has 2 ea")
    case("P09", [("JEAN-IND-32", 1, 1)], method=MAIL, status=DROPPED_OFF, erp=["awaiting"],
         c=on_hold, note="customer on hold for All")
    w.plant(w.by_key("P09"), "CUSTOMER_NOT_FOUND",
            f"fo §5.8 / U24: CustomersV3 {on_hold.account} OnHoldStatus All in frgb")
    case("P12", [("CAP-BSB-NVY", 1, 1)], method=MAIL, status=APPROVED, erp=["received"],
         ext=True, link="ext", note="externalRMAID link, approved, no credit note")
    w.plant(w.by_key("P12"), "CREDIT_NOTE_MISSING",
            "hr §5.3 mail approved 48 h ago; the F&O return order (linked by externalRMAID, "
            "hr U22 auto) is Received, not invoiced (fo §5.7)")
    case("P13", [("BAG-TOTE-NAT", 1, 1)], method=RETURN_BAR, status=STARTED, erp=[],
         dupes=[0], label=True, note="no return order; its start delivered twice")
    w.plant(w.by_key("P13"), "RETURN_ORDER_MISSING",
            "hr §4.1 started 48 h ago (one delivery sent twice = one, U14); no return order")

    # -- ERP documents Happy Returns does not know for harbour-lane -------------------------
    # P10: another retailer's express code, with an approved delivery of that retailer
    p10 = case("P10", [("TEE-WHT-M", 1, 1)], method=RETURN_BAR, status=APPROVED,
               erp=["awaiting"], retailer=DECOY_RETAILER_ID,
               note="the OTHER retailer's return; F&O of harbour-lane carries its code")
    w.erp_only_refs.append(p10.hr.express_code)
    w.aliases[p10.hr.express_code] = p10.hr.express_code
    w.plant(p10.hr.express_code, "ERP_RECORD_UNLINKED",
            "the return order's CustomersOrderReference is a harbour-lane-outlet express code: "
            "its delivery names another retailerID (ignored, U23) and the look-up under "
            "harbour-lane answers 204 (hr §2.3)")
    # the other retailer's return that reuses H14's express code, approved
    case("H14-outlet", [("CAP-BSB-NVY", 1, 1)], method=RETURN_BAR, status=APPROVED, erp=[],
         retailer=DECOY_RETAILER_ID, code=w.by_key("H14"),
         note="other retailer, same express code as H14, approved: must be ignored")
    # P11: another channel's return order
    ebay = Spec(ref="EBAY-3391-R", order="EB-3391", cust=next_cust(),
                lines=[Line(sku="CAP-BSB-NVY", qty=1, item="CAP-BSB-NVY")], created=created,
                reason=("changed-mind", *REASONS["changed-mind"]))
    ebay.ros = [ro("awaiting", 0)]
    main.original_sale(ebay.order, ebay.cust, ebay.lines, purchased)
    main.return_order(ebay, ebay.ros[0])
    w.erp_only_refs.append("EBAY-3391-R")
    w.aliases["EBAY-3391-R"] = "EBAY-3391-R"
    w.plant("EBAY-3391-R", "ERP_RECORD_UNLINKED",
            "fo §5.2: return order CustomersOrderReference EBAY-3391-R matches no Happy Returns "
            "return (a look-up, if made, is 204, hr §2.3)")

    # -- noise in frgb: a call-centre return order with NO reference, credited ---------------
    manual = Spec(ref="", order="CC-20417", cust=cust[43],
                  lines=[Line(sku="SCARF-WOOL-GRN", qty=1, item="SCARF-WOOL-GRN")],
                  created=created, reason=("defective", *REASONS["defective"]))
    manual.ros = [ro("credited", 0)]
    main.original_sale(manual.order, manual.cust, manual.lines, purchased)
    main.return_order(manual, manual.ros[0])
    main.master_data(cust, {on_hold.account: "All", payment_hold.account: "Payment"})

    # -- the decoy legal entity frie: a return order with P01's code (fo §1.2) ----------------
    decoy.master_data(cust[:44], {cust[0].account: "All"})
    ghost = Spec(ref=w.by_key("P01"), order="990001", cust=cust[1],
                 lines=[Line(sku="SNK-TRL-43", qty=1, item="SNK-TRL-43")], created=created,
                 reason=("too-big", *REASONS["too-big"]))
    ghost.ros = [ro("awaiting", 0)]
    decoy.original_sale(ghost.order, ghost.cust, ghost.lines, purchased)
    decoy.return_order(ghost, ghost.ros[0])
    fiscal_calendar(w)

    # -- the profile's mapping table -----------------------------------------------------------
    w.mappings = {
        "skus": {"SOCK-2PK": {"sku": "SOCK-2PK", "item_no": "SOCK-CREW", "factor": "2",
                              "erp_uom": "ea"}},
        "reasons": {rid: code for rid, (_t, code) in REASONS.items()},
        "dispositions": {
            "sellable": {"disposition": "RESELL", "location": fo.FO_RETURN_WAREHOUSE},
            "resellable": {"disposition": "RESELL", "location": fo.FO_RETURN_WAREHOUSE},
        },
        "locations": {},
        "fees": {},
        "payment_methods": {},
        "identity_fallback": True,
    }
    w.plan = delivery_plan(w)
    return w


def fiscal_calendar(w: World) -> None:
    """Calendar-year periods around WALL (fo §5.9); ledger FRGB closed up to the end of the
    month before last, so every date of this world is in an open period."""
    first = w.wall.date().replace(day=1)
    prev = (first - timedelta(days=1)).replace(day=1)
    closed_until = {"FRGB": prev - timedelta(days=1), "FRIE": first - timedelta(days=1)}
    legal = {"FRGB": fo.COMPANY, "FRIE": fo.DECOY_COMPANY}
    for year in (w.wall.year - 1, w.wall.year, w.wall.year + 1):
        periods = [("Period 0", date(year, 1, 1), date(year, 1, 1), "Opening", "Q1")]
        for m in range(1, 13):
            start = date(year, m, 1)
            end = date(year + (m == 12), m % 12 + 1, 1) - timedelta(days=1)
            periods.append((f"Period {m}", start, end, "Operating", f"Q{(m - 1) // 3 + 1}"))
        periods.append(("Closing", date(year, 12, 31), date(year, 12, 31), "Closing", "Q4"))
        for name, start, end, typ, quarter in periods:
            w.add("FiscalPeriods", {
                "Calendar": "Fiscal", "FiscalYear": str(year), "StartDate": fo.fo_date(start),
                "EndDate": fo.fo_date(end), "PeriodName": name, "Type": typ,
                "Quarter": quarter, "Month": start.strftime("%B") if typ == "Operating" else "",
                "ShortName": start.strftime("%b") if typ == "Operating" else typ})
            for ledger, until in closed_until.items():
                closed = end <= until
                lvl = "None" if closed else "All"
                w.add("LedgerFiscalPeriods", {
                    "LedgerName": ledger, "Calendar": "Fiscal", "YearName": str(year),
                    "PeriodName": name, "LegalEntityId": legal[ledger],
                    "PeriodStatus": "Closed" if closed else "Open",
                    "SalesAccessLevel": lvl, "CustAccessLevel": lvl, "InventAccessLevel": lvl,
                    "LedgerAccessLevel": lvl, "SalesUserGroupInfo": "", "CustUserGroupInfo": "",
                    "InventUserGroupInfo": "", "LedgerUserGroupInfo": ""})


def delivery_plan(w: World) -> list[tuple[str, Delivery, str]]:
    """Every POST the test makes, in order: (label, delivery, expect) with expect "accept"
    (2xx), "refuse" (not 2xx) or "any" (another retailer's: stored or refused, never used).
    The returns' deliveries are interleaved round-robin (traffic of many returns at once);
    "reverse" cases send newest first; duplicates go at the end; the forged and the other
    retailer's deliveries sit in the middle."""
    queues: list[list[tuple[str, Delivery, str]]] = []
    tail: list[tuple[str, Delivery, str]] = []
    for cs in w.cases.values():
        if not cs.deliver:
            continue
        ds = cs.hr.deliveries()
        q = [(d.label, d, "accept") for d in ds]
        if cs.label:
            ld = cs.hr.label_delivery()
            q.insert(1, (ld.label, ld, "accept"))
        if cs.send == "reverse":
            q = list(reversed(q))
        queues.append(q)
        for i in cs.dupes:
            tail.append((ds[i].label + " (same body again)", ds[i], "accept"))
    rounds: list[tuple[str, Delivery, str]] = []
    for r in range(max(len(q) for q in queues)):
        rounds += [q[r] for q in queues if r < len(q)]
    # the forged ones: H19 (in transit) "approved", with a wrong key and with no signature
    target = w.cases[w.forged_target].hr
    fake = HRReturn(**{**target.__dict__,
                       "moments": [*target.moments, [(STATUS, APPROVED)]]})
    forged = fake.deliveries()[-1]
    middle = [
        (forged.forged().label, forged.forged(), "refuse"),
        (forged.unsigned().label, forged.unsigned(), "refuse"),
    ]
    for hr in w.hr_returns:
        if hr.retailer_id != RETAILER_ID:
            for d in hr.deliveries():
                middle.append((f"{d.label} [retailerID {hr.retailer_id}]", d, "any"))
    half = len(rounds) // 2
    return rounds[:half] + middle + rounds[half:] + tail


if __name__ == "__main__":  # pragma: no cover - a quick look at the world
    world = build_world()
    print(len([c for c in world.cases.values()]), "returns;", len(world.plan), "POSTs")
    for pair in sorted(world.truth):
        print(pair, "-", world.plant_notes[pair])
