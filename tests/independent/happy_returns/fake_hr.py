"""A fake of Happy Returns (system ``happy_returns``) as a partner sees it: the webhook deliveries
it POSTs (return.asn, return.label.update) and the Partner API look-up "Get Return Details".

Written from docs/vendors/happy-returns.md only (cited "hr §x"); nothing from the product.

What it sends (``Delivery``, built by ``HRReturn.deliveries()`` / ``label_delivery()``)
* return.asn (hr §4.1, §4.2, §8.1): one POST per (return x order number) and per "moment"; a
  moment is the events Happy Returns merged because they happened within 60 s. Body keys in the
  sample's order: ``event``, ``typeID``, ``retailerID``, ``otherEvents``, ``items``. The primary
  event is the latest *status* event of the moment when there is one (hr §4.2: "the latest
  return status will always be the primary event"), else the latest event; ``otherEvents`` are
  the moment's other events, newest first. Each item is ONE physical item (hr §4.2) with the
  sample's visible fields (``happyReturnsReturnID``, ``purchasedAt``, ``email``,
  ``orderNumber``, ``externalRMAID``, ``orderID``, ``orderLineItemID``, ``sku``, ``upc``,
  ``productVariantID``, ``labelBarcode``, ``productName``), every value a string (hr §5.2).
* return.label.update (hr §8.2): exactly the sample's keys.
* Signature (hr §4.3, U2, U3; the profile's default ``signature_scheme``): header
  ``X-Hr-Signature`` = lowercase hex HMAC-SHA256 of the raw body keyed by the webhook secret.
  ``forged()`` signs with another key, ``unsigned()`` sends no header; the same delivery sent
  again is byte-identical (hr U14: the body is its only identity).

What it serves (``make_app``)
* ``POST /return`` (Get Return Details, hr §2.2, §2.3): header ``X-Hr-Apikey`` (hr §1.1);
  JSON body ``{"happyReturnsRetailerID": ..., <exactly one of> "orderNumber" | "email" |
  "happyReturnsExpressCode", "cursor"?}``. 204 with an empty body = no return (hr §2.3).
  Leaky bucket per API key (hr §3): ``rate`` 0.5 requests/s, ``bucket_size`` N; a request that
  finds the bucket full is a 429 with the simulator body of hr §8.3
  ``{"ErrorMessage":"too many requests: limit 0.500000 requests/sec, leaky bucket size N"}``.
* ``GET /webhooks`` (the connection ping a 3p connector uses, hr §2.2): 200 ``[]``.
* ``app.state.log``: one entry per request (t, method, path, status, api key ok, body).

CHOICES where the docs are silent
 C1. Status ``typeID`` strings (hr U10): ``started`` (documented), ``dropped_off``,
     ``approved``, ``expired``. Drop-off method ``typeID``: ``return-bar``, ``mail``.
 C2. Items carry, after the sample's visible fields (the stored sample is cut after
     ``productName``), ``returnReasonID`` (a look-up field, hr §2.3), ``happyReturnsItemID``
     (hr §5.1), ``happyReturnsExpressCode`` (the outbound-shipment item field list has it,
     hr §5.2; without it a return.asn could never be tied to the shopper-facing code) and
     ``dropoffMethod`` (``mail`` / ``return-bar``; hr §5.2 names the field for mail returns).
 C3. ``orderLineItemID`` always carries the ``-{offset}-{total}`` suffix, total = the order
     line's refundable quantity (hr §5.1), so two of three units of a line read ``L-0-3``,
     ``L-1-3``. ``externalRMAID`` is ``""`` when the retailer issued none.
 C4. Body bytes: compact JSON (``,`` ``:``), UTF-8, no trailing newline; header
     ``Content-Type: application/json``.
 C5. Look-up answer: "the same fields as the return webhook" (hr §2.3) read literally: ONE
     JSON object ``{event, typeID, retailerID, otherEvents, items}`` with the return's current
     status as primary (``return_status_updated``), its earlier events newest first in
     ``otherEvents``, and the items of every order of the return. An ``orderNumber`` or
     ``email`` that matches several returns answers a JSON array of such objects (hr §2.3
     "or related returns"). No paging is ever needed (no ``cursor`` in answers).
 C6. Look-ups see only the retailer named in ``happyReturnsRetailerID``; the key covers this
     fake's two retailers (hr §1.1), so another retailer's return is 204 under ours.
     Matching: express code case-insensitive, email case-insensitive, order number exact (no
     ``#`` games, hr U7).
 C7. Errors other than 429 (hr §7: undocumented): 401 ``{"ErrorMessage":"unauthorized"}``
     without a valid key; 400 ``{"ErrorMessage": ...}`` for a body that is not a JSON object,
     a missing/unknown retailer, no criterion, two criteria (hr §2.3 [3p]) or an undocumented
     criterion (e.g. ``externalRMAID``). Unknown paths 404.
 C8. The bucket: capacity N (default 2), drains at ``rate``/s; a refused request does not fill
     it; only ``POST /return`` is metered (Return API, hr §3), per API key.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

API_KEY = "hr-pk-7f3c91d2e8b04a6c9e15d0b2"
WEBHOOK_SECRET = "hrwh-5e0d8a2c47b94f13a6c1e9d7"
WRONG_SECRET = "not-the-webhook-secret"
HOOK_PATH = "/hooks/happy_returns/webhooks"

# events and type ids (hr §4.1; C1)
STATUS = "return_status_updated"
METHOD = "return_dropoff_method_created"
LABEL = "return_label_update"
STARTED, DROPPED_OFF, APPROVED, EXPIRED = "started", "dropped_off", "approved", "expired"
RETURN_BAR, MAIL = "return-bar", "mail"

ASN_KEYS = ("event", "typeID", "retailerID", "otherEvents", "items")
SAMPLE_ITEM_KEYS = ("happyReturnsReturnID", "purchasedAt", "email", "orderNumber",
                    "externalRMAID", "orderID", "orderLineItemID", "sku", "upc",
                    "productVariantID", "labelBarcode", "productName")
EXTRA_ITEM_KEYS = ("returnReasonID", "happyReturnsItemID", "happyReturnsExpressCode",
                   "dropoffMethod")
LABEL_KEYS = ("event", "typeID", "retailerID", "webhookType", "labelID",
              "happyReturnsReturnID", "happyReturnsExpressCode")
CRITERIA = ("orderNumber", "email", "happyReturnsExpressCode")


def sign(secret: str, body: bytes, scheme: str = "hmac_sha256_hex") -> str:
    digest = hmac.new(secret.encode("utf-8"), body, hashlib.sha256)
    if scheme == "hmac_sha256_base64":
        return base64.b64encode(digest.digest()).decode()
    return digest.hexdigest()


def body_bytes(payload: Any) -> bytes:
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


@dataclass(frozen=True)
class Unit:
    """One physical item of a return (hr §4.2: "each line item is one physical item")."""

    sku: str
    product_name: str
    order_number: str
    order_id: str
    line_id: str  # the order line (Shopify line item id style), without the suffix
    offset: int
    total: int  # the line's refundable quantity (hr §5.1)
    upc: str
    variant_id: str
    reason_id: str
    item_id: str


@dataclass
class HRReturn:
    return_id: str  # happyReturnsReturnID (UUID)
    express_code: str  # happyReturnsExpressCode (HRXXXXXX)
    retailer_id: str
    email: str
    external_rma_id: str  # "" when none (C3)
    dropoff_method: str
    purchased_at: datetime
    units: list[Unit]
    # chronological moments; each a chronological list of (event, typeID) merged in one POST
    moments: list[list[tuple[str, str]]]
    label_id: str | None = None

    # -- views ----------------------------------------------------------------------------
    @property
    def status(self) -> str | None:
        last = None
        for m in self.moments:
            for ev, typ in m:
                if ev == STATUS:
                    last = typ
        return last

    def order_numbers(self) -> list[str]:
        out: list[str] = []
        for u in self.units:
            if u.order_number not in out:
                out.append(u.order_number)
        return out

    def item(self, u: Unit) -> dict[str, Any]:
        return {
            "happyReturnsReturnID": self.return_id,
            "purchasedAt": self.purchased_at.isoformat(timespec="seconds"),
            "email": self.email,
            "orderNumber": u.order_number,
            "externalRMAID": self.external_rma_id,
            "orderID": u.order_id,
            "orderLineItemID": f"{u.line_id}-{u.offset}-{u.total}",
            "sku": u.sku,
            "upc": u.upc,
            "productVariantID": u.variant_id,
            "labelBarcode": u.upc,  # the sample repeats the upc (hr §5.1)
            "productName": u.product_name,
            "returnReasonID": u.reason_id,
            "happyReturnsItemID": u.item_id,
            "happyReturnsExpressCode": self.express_code,
            "dropoffMethod": self.dropoff_method,
        }

    def items(self, order_number: str | None = None) -> list[dict[str, Any]]:
        return [self.item(u) for u in self.units
                if order_number is None or u.order_number == order_number]

    @staticmethod
    def _primary(events_newest_first: list[tuple[str, str]]) -> tuple[str, str]:
        for e in events_newest_first:
            if e[0] == STATUS:
                return e
        return events_newest_first[0]

    def asn(self, moment: int, order_number: str) -> dict[str, Any]:
        newest_first = list(reversed(self.moments[moment]))
        primary = self._primary(newest_first)
        others = list(newest_first)
        others.remove(primary)
        return {"event": primary[0], "typeID": primary[1], "retailerID": self.retailer_id,
                "otherEvents": [{"event": e, "typeID": t} for e, t in others],
                "items": self.items(order_number)}

    def lookup_view(self) -> dict[str, Any]:
        """C5: the current state, in the webhook's fields."""
        newest_first = [e for m in reversed(self.moments) for e in reversed(m)]
        primary = self._primary(newest_first)
        others = list(newest_first)
        others.remove(primary)
        return {"event": primary[0], "typeID": primary[1], "retailerID": self.retailer_id,
                "otherEvents": [{"event": e, "typeID": t} for e, t in others],
                "items": self.items()}

    def deliveries(self) -> list[Delivery]:
        """Every return.asn POST of this return, chronological (per moment, per order)."""
        out = []
        for i, m in enumerate(self.moments):
            for on in self.order_numbers():
                label = f"{self.express_code} {'+'.join(t for _e, t in m)}"
                if len(self.order_numbers()) > 1:
                    label += f" (order {on})"
                out.append(Delivery(label, self.asn(i, on)))
        return out

    def label_delivery(self) -> Delivery:
        assert self.label_id
        return Delivery(f"{self.express_code} label update", {
            "event": LABEL, "typeID": "", "retailerID": self.retailer_id,
            "webhookType": "return.label.update", "labelID": self.label_id,
            "happyReturnsReturnID": self.return_id,
            "happyReturnsExpressCode": self.express_code})


@dataclass(frozen=True)
class Delivery:
    """One POST as Happy Returns makes it; sending the same object twice is a retry."""

    label: str
    payload: dict[str, Any]
    secret: str = WEBHOOK_SECRET
    scheme: str = "hmac_sha256_hex"
    signed: bool = True

    def body(self) -> bytes:
        return body_bytes(self.payload)

    def headers(self) -> dict[str, str]:
        h = {"Content-Type": "application/json"}
        if self.signed:
            h["X-Hr-Signature"] = sign(self.secret, self.body(), self.scheme)
        return h

    def identity(self) -> str:
        return hashlib.sha256(self.body()).hexdigest()

    def forged(self) -> Delivery:
        return replace(self, label=self.label + " [FORGED: wrong key]", secret=WRONG_SECRET)

    def unsigned(self) -> Delivery:
        return replace(self, label=self.label + " [FORGED: no X-Hr-Signature]", signed=False)


def post(base_url: str, d: Delivery, timeout: float = 10) -> tuple[int, str, float]:
    """POST one delivery to the listener; (status, body, seconds)."""
    req = urllib.request.Request(base_url + HOOK_PATH, data=d.body(), headers=d.headers(),
                                 method="POST")
    t = time.monotonic()
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:  # 127.0.0.1 only
            return r.status, r.read().decode("utf-8", "replace")[:300], time.monotonic() - t
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode("utf-8", "replace")[:300], time.monotonic() - t


# ------------------------------------------------------------------------------ the bucket
class LeakyBucket:
    """hr §3: a leaky bucket of `size` requests draining at `rate` per second (C8)."""

    def __init__(self, size: int, rate: float, clock: Callable[[], float]) -> None:
        self.size, self.rate, self.clock = size, rate, clock
        self.level = 0.0
        self.t = clock()
        self.lock = threading.Lock()

    def take(self) -> bool:
        with self.lock:
            now = self.clock()
            self.level = max(0.0, self.level - (now - self.t) * self.rate)
            self.t = now
            if self.level + 1 > self.size + 1e-9:
                return False
            self.level += 1
            return True


def too_many_body(size: int) -> dict[str, str]:
    return {"ErrorMessage": f"too many requests: limit 0.500000 requests/sec, leaky bucket "
                            f"size {size}"}


# --------------------------------------------------------------------------------- the app
@dataclass
class _State:
    returns: list[HRReturn]
    log: list[dict[str, Any]] = field(default_factory=list)


def make_app(returns: list[HRReturn], *, api_key: str = API_KEY, bucket_size: int = 2,
             rate: float = 0.5, clock: Callable[[], float] = time.monotonic) -> Starlette:
    st = _State(list(returns))
    buckets: dict[str, LeakyBucket] = {}
    lock = threading.Lock()
    retailers = {r.retailer_id for r in st.returns}

    def record(request: Request, status: int, body: Any, **extra: Any) -> None:
        with lock:
            st.log.append({"t": clock(), "method": request.method, "path": request.url.path,
                           "status": status, "key_ok": request.headers.get("x-hr-apikey")
                           == api_key, "body": body, **extra})

    def error(request: Request, status: int, message: str, body: Any) -> JSONResponse:
        record(request, status, body, error=message)
        return JSONResponse({"ErrorMessage": message}, status_code=status)

    async def lookup(request: Request) -> Response:
        raw = await request.body()
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = raw.decode("utf-8", "replace")
        key = request.headers.get("x-hr-apikey")
        if key != api_key:
            return error(request, 401, "unauthorized", body)
        with lock:
            bucket = buckets.setdefault(key, LeakyBucket(bucket_size, rate, clock))
        if not bucket.take():
            record(request, 429, body)
            return JSONResponse(too_many_body(bucket_size), status_code=429)
        if not isinstance(body, dict):
            return error(request, 400, "request body must be a JSON object", body)
        retailer = body.get("happyReturnsRetailerID")
        if not retailer or retailer not in retailers:
            return error(request, 400, "invalid happyReturnsRetailerID", body)
        given = [k for k in CRITERIA if body.get(k) not in (None, "")]
        extra = [k for k in body if k not in (*CRITERIA, "happyReturnsRetailerID", "cursor")]
        if extra:
            return error(request, 400, f"unsupported field(s): {', '.join(sorted(extra))}", body)
        if not given:
            return error(request, 400, "one of orderNumber, email or happyReturnsExpressCode "
                                       "is required", body)
        if len(given) > 1:
            return error(request, 400, "only one search criterion may be given", body)
        crit = given[0]
        value = str(body[crit])
        mine = [r for r in st.returns if r.retailer_id == retailer]
        if crit == "happyReturnsExpressCode":
            hits = [r for r in mine if r.express_code.lower() == value.lower()]
        elif crit == "email":
            hits = [r for r in mine if r.email.lower() == value.lower()]
        else:
            hits = [r for r in mine if value in r.order_numbers()]
        if not hits:
            record(request, 204, body, criterion=crit)
            return Response(status_code=204)
        record(request, 200, body, criterion=crit, found=[r.express_code for r in hits])
        if crit == "happyReturnsExpressCode" or len(hits) == 1:
            return Response(body_bytes(hits[0].lookup_view()), media_type="application/json")
        return Response(body_bytes([r.lookup_view() for r in hits]),
                        media_type="application/json")

    async def webhooks(request: Request) -> Response:
        if request.headers.get("x-hr-apikey") != api_key:
            return error(request, 401, "unauthorized", None)
        record(request, 200, None)
        return JSONResponse([])

    async def not_found(request: Request) -> Response:
        return error(request, 404, "not found", None)

    app = Starlette(routes=[
        Route("/return", lookup, methods=["POST"]),
        Route("/webhooks", webhooks, methods=["GET"]),
        Route("/{rest:path}", not_found, methods=["GET", "POST", "PUT", "PATCH", "DELETE"]),
    ])
    app.state.log = st.log
    app.state.returns = st.returns
    return app
