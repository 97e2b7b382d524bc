"""The webhook part of the independent Shopify <-> NetSuite check: six more returns, what
changes on them in Shopify after the product's first check, and the planted truth before and
after.

Written from Shopify's documentation only (sources in fake_shopify_webhooks.py) and the
product's public description (README "Against the real Shopify and NetSuite", docs/exceptions.md
for the codes and grace periods). Nothing here is taken from the product's code or mapping docs.

Why webhooks at all: Shopify's only server-side change cursor is the order (``orders(query:
"updated_at:>...")``); ``Return`` has no ``updatedAt`` and no document says whether a
disposition, an approval, a cancellation, a close or a refund moves ``Order.updatedAt``
(docs/vendors/shopify.md section 2.2, UNKNOWN #1). In this fake NONE of the changes below moves
it, so an incremental read through orders cannot see them: only the deliveries that name them
(or a full read) can.

Clocks. The first check runs as of ``scenario.NOW`` (2026-11-24T12:00Z). The changes happen in
Shopify between NOW+30min and NOW+1h45; the later checks run as of ``NOW2`` = NOW+28h, so every
change is 26-27.5 hours old then: past the 24 h grace of the received and credited stages
(docs/exceptions.md section 2, "Defaults: authorised 1 h, received 24 h, inspected 72 h,
credited 24 h"). Without the changes, only W2 moves between NOW and NOW2 (inspected 11.5 h
before NOW, not refunded: inside the credited grace at NOW, 39.5 h and overdue at NOW2).
NetSuite does not change at all between the checks (so no NetSuite change cursor is involved),
and none of these returns' orders was updated within 11 hours before NOW (so an overlap window
of an hour on the orders cursor re-reads none of them).

The returns (n -> Shopify return "#1<n>-R1"):
  W1 #1301-R1  in transit (label 3 days before NOW), NetSuite RMA Pending Receipt (B), no item
               receipt. CHANGE: the warehouse disposes the line PROCESSING_REQUIRED (received,
               to be inspected) at NOW+1h15 -> ``reverse_fulfillment_orders/dispose`` (delivered
               twice: Shopify's retry, same X-Shopify-Webhook-Id).
  W2 #1302-R1  received and inspected: NetSuite item receipt the day before NOW (RMA Pending
               Refund, F), Shopify disposition NOT_RESTOCKED 11.5 h before NOW, not refunded.
               CHANGE: refund of both lines at NOW+1h30 -> ``refunds/create``; return closed at
               NOW+1h35 -> ``returns/close``. NetSuite has no credit memo.
  W3 #1303-R1  requested a day before NOW; NetSuite already holds its RMA, approved (B) (the
               warehouse approved it in NetSuite first). CHANGE: approved in Shopify at NOW+30min
               (``returns/approve``; approving creates a NEW reverse fulfillment order, never seen
               by the first read), then disposed PROCESSING_REQUIRED on that new reverse
               fulfillment order at NOW+1h (``reverse_fulfillment_orders/dispose``). Delivered in
               the wrong order (dispose first): Shopify does not promise order
               (shopify.dev/docs/apps/build/webhooks/best-practices).
  W5 #1305-R1  approved two days before NOW (no parcel sent yet), no NetSuite RMA: a
               RETURN_ORDER_MISSING already at the first check. CHANGE: the merchant cancels it
               at NOW+45min (``returns/cancel``; allowed "before any work has been done on the
               return", mutations/returnCancel): a cancelled return needs no RMA.
  W6 #1306-R1  like W1 (label 2 days before NOW). CHANGE: disposed PROCESSING_REQUIRED at
               NOW+1h45; its ``reverse_fulfillment_orders/dispose`` delivery arrives with a BAD
               signature only, which the listener must refuse -- so the incremental check must
               NOT see this change; ``check --full`` must.
  W7 #1307-R1  like W1. CHANGE: disposed PROCESSING_REQUIRED at NOW+1h50. First a forged copy
               of its delivery arrives (same X-Shopify-Webhook-Id, bad signature: refused), then
               the genuine one: "Verify both before processing" (verify-deliveries) -- a refused
               delivery must not use up its id, so the genuine one is kept and the change seen.
Also: W2's ``returns/close`` is signed with the PREVIOUS client secret (a rotation under way;
the product is given both), and must be accepted; W2's refund also comes with a
``returns/process`` delivery whose body is Shopify's documented sample for that topic, ``{}``.

Not covered end to end: ``returns/decline``. Its natural case -- a REQUESTED return with no
NetSuite RMA past the authorised grace (RETURN_ORDER_MISSING by docs/exceptions.md section 1,
whose authorised stage is "return requested / approved"), declined -> nothing owed -- cannot be
observed: the product reports nothing at all for a REQUESTED return without an RMA, even after
two days (its RETURN_ORDER_MISSING starts at approval: "is approved on the platform; NetSuite has
no return order"). That difference of reading is reported, not planted here; W5 uses a
cancellation of an approved return instead. The decline payload is shape-tested only.

Truth (findings, (return_ref, code)), from the rules as documented (README "How
reconciliation decides": a lag is a delay "within the grace period of its stage", an error
after):
  * RECEIPT_NOT_POSTED: the platform received goods (a disposition other than MISSING) more
    than 24 h (received grace) ago and NetSuite has no item receipt while the RMA is open (B).
  * CREDIT_NOTE_MISSING: the platform refunded more than 24 h (credited grace) ago, and there is
    no credit memo / cash refund.
  * STAGE_OVERDUE (stage credited): "inspected but the customer not refunded" for longer than
    the credited stage's grace, 24 h (low severity up to 3x grace).
  * RETURN_ORDER_MISSING: an approved return older than the authorised grace (1 h) with no
    return authorization. A cancelled return needs none.
  * in transit for < 14 days, requested with an RMA: no finding.
"""

from __future__ import annotations

from datetime import timedelta

from .scenario import NOW, Line, Spec, World, ago, at_noon

NOW2 = NOW + timedelta(hours=28)
NOW2_ISO = NOW2.strftime("%Y-%m-%dT%H:%M:%SZ")

W1, W2, W3, W5, W6, W7 = 301, 302, 303, 305, 306, 307


def name(n: int) -> str:
    return f"#{1000 + n}-R1"


CHANGED = [name(n) for n in (W1, W2, W3, W5, W6, W7)]

# when each change happens in Shopify (after the first check, which runs as of NOW)
T_APPROVE_W3 = NOW + timedelta(minutes=30)
T_CANCEL_W5 = NOW + timedelta(minutes=45)
T_DISPOSE_W3 = NOW + timedelta(hours=1)
T_DISPOSE_W1 = NOW + timedelta(hours=1, minutes=15)
T_REFUND_W2 = NOW + timedelta(hours=1, minutes=30)
T_CLOSE_W2 = NOW + timedelta(hours=1, minutes=35)
T_DISPOSE_W6 = NOW + timedelta(hours=1, minutes=45)
T_DISPOSE_W7 = NOW + timedelta(hours=1, minutes=50)
CHANGE_TIMES = [T_APPROVE_W3, T_CANCEL_W5, T_DISPOSE_W3, T_DISPOSE_W1, T_REFUND_W2, T_CLOSE_W2,
                T_DISPOSE_W6, T_DISPOSE_W7]

# ---- planted truth for the changed returns (nothing else is scored by this check) ----------
# the state Shopify had at the first check, reconciled as of NOW2 (the control run: no delivery)
TRUTH_STALE: set[tuple[str, str]] = {
    (name(W5), "RETURN_ORDER_MISSING"),  # approved 2 days + 28 h before, no RMA
    (name(W2), "STAGE_OVERDUE"),  # inspected 39.5 h before NOW2, not refunded (grace 24 h)
}
# after the valid deliveries (W6's only delivery was forged, so W6 stays as it was)
TRUTH_WEBHOOKS: set[tuple[str, str]] = {
    (name(W1), "RECEIPT_NOT_POSTED"),  # received NOW+1h15, 26.75 h before NOW2; RMA B, no IR
    (name(W2), "CREDIT_NOTE_MISSING"),  # refunded NOW+1h30, 26.5 h before NOW2; no credit memo
    #   (and its STAGE_OVERDUE is gone: the customer was refunded)
    (name(W3), "RECEIPT_NOT_POSTED"),  # approved + received NOW+1h, 27 h before NOW2; RMA B
    (name(W7), "RECEIPT_NOT_POSTED"),  # received NOW+1h50, 26.2 h before NOW2 (genuine delivery
    #   after a refused forgery with the same webhook id)
    # W5: cancelled -> no RMA needed -> its RETURN_ORDER_MISSING is gone
    # W6: unchanged for the product (its delivery was refused)
}
# what a full read sees as of NOW2 (every change, the refused one too)
TRUTH_FULL: set[tuple[str, str]] = TRUTH_WEBHOOKS | {
    (name(W6), "RECEIPT_NOT_POSTED"),  # received NOW+1h45, 26.25 h before NOW2; RMA B, no IR
}
NOTES: dict[tuple[str, str], str] = {
    (name(W5), "RETURN_ORDER_MISSING"): "OPEN (approved) since NOW-2d, no NetSuite RMA",
    (name(W2), "STAGE_OVERDUE"): "NOT_RESTOCKED at NOW-11h30, not refunded (without the hook)",
    (name(W1), "RECEIPT_NOT_POSTED"): "disposed PROCESSING_REQUIRED at NOW+1h15; RMA B, no IR",
    (name(W2), "CREDIT_NOTE_MISSING"): "refunded at NOW+1h30 (refunds/create); no credit memo",
    (name(W3), "RECEIPT_NOT_POSTED"): "approved NOW+30m, disposed NOW+1h on the new RFO; RMA B",
    (name(W6), "RECEIPT_NOT_POSTED"): "disposed at NOW+1h45; only a forged delivery was sent",
    (name(W7), "RECEIPT_NOT_POSTED"): "disposed at NOW+1h50; forged copy, then the genuine one",
}


def webhook_specs(w: World) -> list[Spec]:
    """The six returns as they stand at the first check (built like every other spec)."""
    c = w.customers
    specs = [
        # W1: in transit, RMA B (default for an approved return), no receipt
        Spec(n=W1, lines=[Line("JMP-OAT-M", 1)], status="OPEN", created=ago(4, 2),
             approved=ago(4), shipped=ago(3), cust=c[11],
             note="webhook W1: disposed after the first check"),
        # W2: received (NetSuite receipt the day before), inspected NOT_RESTOCKED on Shopify
        # 11.5 h before NOW (a day after the receipt's date), not refunded yet
        Spec(n=W2, lines=[Line("SHRT-CHB-M", 1), Line("BEAN-RST", 1, ordered=2)], status="OPEN",
             created=ago(6, 2), approved=ago(6), shipped=ago(5), receipt=at_noon(1),
             disposition="NOT_RESTOCKED", disposed=ago(hours=11, minutes=30), cust=c[12],
             note="webhook W2: refunded and closed after the first check"),
        # W3: requested a day before NOW; NetSuite RMA already approved (Pending Receipt)
        Spec(n=W3, lines=[Line("BOOT-BRN-43", 1)], status="REQUESTED", created=ago(1, 2),
             ra_created=ago(1, 1), ra_status="B", cust=c[13],
             note="webhook W3: approved and disposed after the first check"),
        # W5: approved two days before NOW, no parcel yet, no RMA (RETURN_ORDER_MISSING at the
        # first check already)
        Spec(n=W5, lines=[Line("SCRF-GRY", 1)], status="OPEN", created=ago(2, 2),
             approved=ago(2), ra=False, cust=c[14],
             note="webhook W5: cancelled after the first check"),
        # W6: in transit, RMA B, no receipt; its change is delivered with a bad signature only
        Spec(n=W6, lines=[Line("TEE-ECR-L", 2)], status="OPEN", created=ago(3, 2),
             approved=ago(3), shipped=ago(2), cust=c[15],
             note="webhook W6: disposed after the first check; forged delivery only"),
        # W7: in transit, RMA B, no receipt; a forged copy of its delivery comes first
        Spec(n=W7, lines=[Line("SHRT-CHB-L", 1)], status="OPEN", created=ago(5, 2),
             approved=ago(5), shipped=ago(4), cust=c[16],
             note="webhook W7: disposed after the first check; forged copy, then genuine"),
    ]
    return specs
