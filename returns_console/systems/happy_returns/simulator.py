"""Happy Returns as its docs describe it (docs/vendors/happy-returns.md): a second reading of
them, not a mirror of the connector (which it never imports).

It pushes: every return of the scenario as return.asn deliveries (§4, §8.1), one per status
the return reaches, each the return's whole state for its order (items, one per physical
unit, `orderLineItemID` suffixed with the unit's offset and the line's quantity, §5.1), the
primary event first and the older ones in `otherEvents` (§4.2), signed with the demo webhook
secret (HMAC-SHA256 of the raw body, hex, in `X-Hr-Signature`: the sandbox's reading of U2).
Each delivery is sent at the scenario's time of its event (the payload carries none, §4.4).
It answers Get Return Details (`POST /return`, one criterion, 204 when nothing is found,
§2.3) behind `X-Hr-Apikey`, limited by a leaky bucket (0.5 a second, §3; a 429's body names
the bucket size, the seconds to wait).

Where the scenario says what Happy Returns cannot: no money (its payloads carry none, §5.5);
nothing of the goods reaching the retailer (§6); a return's inspection and refund are one
event, "approved for a refund"; the scenario's return reference is the express code (the
shopper-facing RMA id, what the ERP's documents carry); a return the scenario marks
unreadable is delivered with an item that has no SKU.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from ...sandbox.faults import Faults
from ...sandbox.hosted import Delivery

API_KEY = "hr-sandbox-api-key-0000"
WEBHOOK_SECRET = "hr-sandbox-webhook-secret"
RETAILER = "harbour-outfitters"
LOOKUP_PATH = "/return"
_NAMESPACE = uuid.UUID("6f1c5c1e-2b8e-4f65-9a51-4a8f1e0d2c11")
#: The status typeIDs this sandbox sends (only `started` is documented; U10).
STARTED, DROPPED, APPROVED, EXPIRED = "started", "dropped_off", "approved", "expired"


def _moment(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text.replace("Z", "+00:00")) if text else None


def return_id(ref: str) -> str:
    return str(uuid.uuid5(_NAMESPACE, ref))


@dataclass
class _Return:
    ref: str
    items: list[dict[str, Any]]
    status: str = STARTED
    events: list[tuple[datetime | None, str, str]] = field(default_factory=list)


class Bucket:
    """A leaky bucket: `size` requests, leaking `rate` a second (§3)."""

    def __init__(self, rate: float, size: int) -> None:
        self.rate, self.size = rate, size
        self.level = 0.0
        self.at = time.monotonic()
        self.lock = threading.Lock()

    def take(self) -> bool:
        with self.lock:
            now = time.monotonic()
            self.level = max(0.0, self.level - (now - self.at) * self.rate)
            self.at = now
            if self.level + 1 > self.size:
                return False
            self.level += 1
            return True


class HappyReturnsSimulator:
    """Deliveries to push, and the look-up endpoint (sandbox/hosted.py)."""

    def __init__(self, snapshot: dict[str, Any], *, faults: Faults | None = None,
                 rate: float = 0.5, bucket: int = 5) -> None:
        self.faults = faults or Faults()
        self.requests = 0
        #: Every reference asked for, in order (what a test counts).
        self.looked_up: list[str] = []
        self.bucket = Bucket(rate, bucket)
        self.returns: dict[str, _Return] = {}
        self._sent: list[Delivery] = []
        self._bodies: list[dict[str, Any]] = []
        for case in sorted(snapshot.get("returns") or [],
                           key=lambda c: c.get("platform", {}).get("created_at") or ""):
            if not case.get("unlinked"):
                self._add(case)
        self._sent.sort(key=lambda d: d.sent_at or datetime.min.replace(tzinfo=UTC))

    # -- the scenario, as Happy Returns would say it ---------------------------------------

    def _add(self, case: dict[str, Any]) -> None:
        p = case.get("platform") or {}
        ref = p.get("return_ref")
        if not ref:
            return
        broken = any(pr.get("side") == "platform" for pr in case.get("problems") or ())
        items = []
        for line in p.get("lines") or []:
            count = int(Decimal(str(line.get("quantity") or 1)))
            for n in range(count):
                item = {
                    "happyReturnsReturnID": return_id(ref), "happyReturnsExpressCode": ref,
                    "purchasedAt": p.get("created_at"), "email": p.get("customer_email") or "",
                    "orderNumber": p.get("order_ref") or "", "externalRMAID": "",
                    "orderID": "", "orderLineItemID": f"{line['line_ref']}-{n}-{count}",
                    "sku": line.get("sku") or "", "upc": "", "productVariantID": "",
                    "labelBarcode": "", "productName": line.get("sku") or "",
                    "returnReasonID": self.native_code("reason", line.get("reason") or "")}
                items.append(item)
        if broken and items:
            items[0] = {k: v for k, v in items[0].items() if k != "sku"}
        if not items:
            return
        state = self.returns[ref] = _Return(ref, items)
        stages = p.get("stages") or {}
        authorised = stages.get("authorised") or {}
        started = _moment(authorised.get("at")) or _moment(p.get("created_at"))
        self._push(state, started, STARTED, other=[("return_dropoff_method_created", "mail")])
        if authorised.get("status") == "failed":
            self._push(state, started, EXPIRED)
            return
        transit = stages.get("in_transit") or {}
        if transit.get("status") == "done":
            self._push(state, _moment(transit.get("at")), DROPPED)
        credited = stages.get("credited") or {}
        if credited.get("status") == "done":
            self._push(state, _moment(credited.get("at")), APPROVED)

    def _push(self, state: _Return, at: datetime | None, status: str, *,
              other: list[tuple[str, str]] | None = None) -> None:
        """One return.asn: the new status first, the earlier ones after it (§4.2)."""
        before = [{"event": "return_status_updated", "typeID": s}
                  for _, e, s in reversed(state.events) if e == "status"]
        state.status = status
        state.events.append((at, "status", status))
        body = {"event": "return_status_updated", "typeID": status, "retailerID": RETAILER,
                "otherEvents": [{"event": e, "typeID": t} for e, t in other or ()] + before,
                "items": state.items}
        self._deliver(body, at)

    def _deliver(self, body: dict[str, Any], at: datetime | None) -> None:
        raw = json.dumps(body, separators=(",", ":")).encode()
        signature = hmac.new(WEBHOOK_SECRET.encode(), raw, hashlib.sha256).hexdigest()
        self._bodies.append(body)
        self._sent.append(Delivery(headers={"Content-Type": "application/json",
                                            "X-Hr-Signature": signature},
                                   body=raw, sent_at=at))

    # -- what the sandbox asks of every simulator ------------------------------------------

    def deliveries(self, since: int = 0) -> list[Delivery]:
        return self._sent[since:]

    def app(self) -> Starlette:
        return Starlette(routes=[Route(LOOKUP_PATH, self._lookup, methods=["POST"])])

    def settings(self, base_url: str) -> dict[str, Any]:
        return {"retailer_id": RETAILER}

    def touch(self, refs: set[str], at: datetime) -> None:
        """The customer changes the drop-off method: a new delivery of the same state."""
        for ref in sorted(refs & set(self.returns)):
            state = self.returns[ref]
            body = {"event": "return_dropoff_method_created", "typeID": "return-bar",
                    "retailerID": RETAILER, "otherEvents": [
                        {"event": "return_status_updated", "typeID": state.status}],
                    "items": state.items}
            self._deliver(body, at)

    def expire_sessions(self) -> None:
        return None  # a static key: nothing expires

    def native_code(self, kind: str, code: str) -> str:
        """Happy Returns' reason ids are slugs (`too-small`, §2.3)."""
        return code.replace("_", "-") if kind == "reason" else code

    def credentials(self) -> dict[str, str]:
        return {"api_key": API_KEY, "webhook_secret": WEBHOOK_SECRET}

    def native(self) -> Any:
        return {"deliveries": list(self._bodies)}

    # -- Get Return Details (§2.2-2.3) ------------------------------------------------------

    async def _lookup(self, request: Request) -> Response:
        self.requests += 1
        fault = await self.faults.before(request, _server_error, _throttled)
        if fault is not None:
            return fault
        if request.headers.get("x-hr-apikey") != API_KEY:
            return JSONResponse({"ErrorMessage": "unauthorized"}, status_code=401)
        if not self.bucket.take():
            return _throttled(self.bucket.size)
        try:
            body = json.loads(await request.body() or b"{}")
        except ValueError:
            return JSONResponse({"ErrorMessage": "invalid JSON"}, status_code=400)
        if not isinstance(body, dict):
            return JSONResponse({"ErrorMessage": "invalid request"}, status_code=400)
        criteria = [k for k in ("orderNumber", "email", "happyReturnsExpressCode") if body.get(k)]
        if len(criteria) != 1:
            return JSONResponse({"ErrorMessage": "exactly one of orderNumber, email or "
                                 "happyReturnsExpressCode"}, status_code=400)
        if body.get("happyReturnsRetailerID") != RETAILER:
            return JSONResponse({"ErrorMessage": "unknown retailer"}, status_code=403)
        key, value = criteria[0], str(body[criteria[0]])
        self.looked_up.append(value)
        found = [r for r in self.returns.values()
                 if any(str(i.get(key, "")).casefold() == value.casefold() for i in r.items)]
        if not found:
            return Response(status_code=204)
        return JSONResponse([{"status": r.status, "items": r.items} for r in found]
                            if len(found) > 1 else {"status": found[0].status,
                                                    "items": found[0].items})


def _throttled(wait: float) -> Response:
    return JSONResponse({"ErrorMessage": f"too many requests: limit 0.500000 requests/sec, "
                                         f"leaky bucket size {wait:g}"}, status_code=429)


def _server_error() -> Response:
    return JSONResponse({"ErrorMessage": "internal error"}, status_code=500)


def build(snapshot: dict, *, faults: Faults | None = None, **knobs: Any) -> HappyReturnsSimulator:
    """The simulator loaded with a canonical scenario's platform side; `rate` and `bucket`
    (knobs) change the leaky bucket (the documented 0.5 a second by default)."""
    rate = float(knobs.pop("rate", 0.5))
    bucket = int(knobs.pop("bucket", 5))
    if knobs:
        raise TypeError(f"the Happy Returns simulator takes no {', '.join(knobs)}")
    return HappyReturnsSimulator(snapshot, faults=faults, rate=rate, bucket=bucket)
