"""ZigZag as far as its docs go (docs/vendors/zigzag.md), and the sandbox's own choices where
they stop: a second reading, not a mirror of the connector (which it never imports).

Documented, and served so: a username and password buy a JWT (POST, JSON body; §1.1, the
path public code uses, U3), valid 30 minutes, a 401 after; the six statuses (§3.1), moving
Pending approval → Approved → Received → Refunded or Exchange, or Rejected (§3.2); webhooks
that carry the secret agreed at subscription (U19) and are sent again as they were (§4.1).

The sandbox's choices where nothing is published (each a profile option the sandbox's
profile sets, `settings()`): the list at `/Return/api/v1/Returns` (GET, `retailerCode`,
`page` and `pageSize`, answer `{"returns": [...]}`), one return at `…/Returns/{id}`, fields
`returnId`, `orderNumber`, `status` (the labels, some spelled `PendingApproval`), `email`,
`createdAt`, `updatedAt` (when the status last changed), `products[]` of `productSku`,
`quantity`, `returnReasonId`. No money (none is published, U17). A webhook body is
`{"event": "return.updated", "returnId": …}`.
"""

from __future__ import annotations

import json
import secrets
import time
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from ...sandbox.faults import Faults
from ...sandbox.hosted import Delivery

USERNAME = "harbour-api"
PASSWORD = "zz-sandbox-password"
WEBHOOK_SECRET = "zz-sandbox-webhook-secret"
RETAILER = "HB001"
PREFIX = "/Return/api/v1"
TOKEN_PATH = f"{PREFIX}/Account/Token"
LIST_PATH = f"{PREFIX}/Returns"
TOKEN_SECONDS = 1800
MAX_PAGE = 100


def _moment(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text.replace("Z", "+00:00")) if text else None


def _stamp(moment: datetime | None) -> str | None:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ") if moment else None


class ZigZagSimulator:
    def __init__(self, snapshot: dict[str, Any], *, faults: Faults | None = None) -> None:
        self.faults = faults or Faults()
        self.requests = 0
        self.tokens: dict[str, float] = {}
        self.returns: dict[str, dict[str, Any]] = {}
        self._sent: list[Delivery] = []
        for n, case in enumerate(snapshot.get("returns") or []):
            if not case.get("unlinked"):
                self._add(case, n)

    def _add(self, case: dict[str, Any], n: int) -> None:
        p = case.get("platform") or {}
        ref = p.get("return_ref")
        if not ref:
            return
        stages = p.get("stages") or {}

        def done(stage: str) -> datetime | None:
            found = stages.get(stage) or {}
            return (_moment(found.get("at")) or _moment(p.get("created_at"))) \
                if found.get("status") == "done" else None

        authorised = stages.get("authorised") or {}
        status, at = "Pending approval", _moment(p.get("created_at"))
        if authorised.get("status") == "failed":
            status, at = "Rejected", _moment(authorised.get("at")) or at
        elif (when := done("exchanged")) is not None:
            status, at = "Exchange", when
        elif (when := done("credited")) is not None:
            status, at = "Refunded", when
        elif (when := done("received")) is not None:
            status, at = "Received", when
        elif authorised.get("status") == "done":
            status, at = "Approved", _moment(authorised.get("at")) or at
        if status == "Pending approval" and n % 2:
            status = "PendingApproval"  # the wire spelling is not published (U9)
        products = [{"productSku": line.get("sku"),
                     "quantity": int(Decimal(str(line.get("quantity") or 1))),
                     "returnReasonId": self.native_code("reason", line.get("reason") or "")}
                    for line in p.get("lines") or []]
        if any(pr.get("side") == "platform" for pr in case.get("problems") or ()) and products:
            products[0] = {k: v for k, v in products[0].items() if k != "productSku"}
        self.returns[ref] = {
            "returnId": ref, "orderNumber": p.get("order_ref") or "",
            "status": status, "email": p.get("customer_email") or "",
            "createdAt": _stamp(_moment(p.get("created_at"))), "updatedAt": _stamp(at),
            "products": products}

    # -- what the sandbox asks of every simulator ------------------------------------------

    def app(self) -> Starlette:
        return Starlette(routes=[
            Route(TOKEN_PATH, self._token, methods=["POST"]),
            Route(LIST_PATH, self._list, methods=["GET"]),
            Route(f"{LIST_PATH}/{{ident}}", self._one, methods=["GET"]),
        ])

    def settings(self, base_url: str) -> dict[str, Any]:
        return {"retailer_code": RETAILER, "returns_list_path": LIST_PATH,
                "return_get_path": f"{LIST_PATH}/{{id}}", "paging": "page",
                "page_size": MAX_PAGE}

    def touch(self, refs: set[str], at: datetime) -> None:
        for ref in sorted(refs & set(self.returns)):
            self.returns[ref]["updatedAt"] = _stamp(at)
            body = json.dumps({"event": "return.updated", "returnId": ref}).encode()
            self._sent.append(Delivery(headers={"Content-Type": "application/json",
                                                "Authorization": WEBHOOK_SECRET},
                                       body=body, sent_at=at))

    def deliveries(self, since: int = 0) -> list[Delivery]:
        return self._sent[since:]

    def expire_sessions(self) -> None:
        self.tokens.clear()

    def native_code(self, kind: str, code: str) -> str:
        return code

    def credentials(self) -> dict[str, str]:
        return {"username": USERNAME, "password": PASSWORD, "webhook_secret": WEBHOOK_SECRET}

    def native(self) -> Any:
        return {"returns": list(self.returns.values())}

    # -- the API -----------------------------------------------------------------------------

    async def _token(self, request: Request) -> Response:
        try:
            body = json.loads(await request.body() or b"{}")
        except ValueError:
            return JSONResponse({"message": "The request body is not JSON."}, status_code=400)
        if not isinstance(body, dict) or body.get("username") != USERNAME or \
                body.get("password") != PASSWORD:
            return JSONResponse({"message": "Invalid username or password."}, status_code=401)
        token = "eyJ0eXAiOiJKV1QifQ." + secrets.token_urlsafe(24) + ".sig"
        self.tokens[token] = time.monotonic() + TOKEN_SECONDS
        return JSONResponse({"token": token})

    def _authorised(self, request: Request) -> bool:
        header = request.headers.get("authorization", "")
        expires = self.tokens.get(header.removeprefix("Bearer "))
        return header.startswith("Bearer ") and expires is not None and \
            expires > time.monotonic()

    async def _guard(self, request: Request) -> Response | None:
        self.requests += 1
        fault = await self.faults.before(request, _server_error, _throttled)
        if fault is not None:
            return fault
        if not self._authorised(request):
            return JSONResponse({"message": "Unauthorized"}, status_code=401)
        if request.query_params.get("retailerCode") != RETAILER:
            return JSONResponse({"message": "Unknown retailerCode."}, status_code=400)
        return None

    async def _list(self, request: Request) -> Response:
        refused = await self._guard(request)
        if refused is not None:
            return refused
        try:
            page = max(1, int(request.query_params.get("page", "1")))
            size = min(MAX_PAGE, max(1, int(request.query_params.get("pageSize", "50"))))
        except ValueError:
            return JSONResponse({"message": "page and pageSize are numbers."}, status_code=400)
        rows = list(self.returns.values())
        return JSONResponse({"returns": rows[(page - 1) * size:page * size], "page": page})

    async def _one(self, request: Request) -> Response:
        refused = await self._guard(request)
        if refused is not None:
            return refused
        found = self.returns.get(request.path_params["ident"])
        if found is None:
            return JSONResponse({"message": "Return not found."}, status_code=404)
        return JSONResponse(found)


def _throttled(wait: float) -> Response:
    return JSONResponse({"message": "Too many requests."}, status_code=429,
                        headers={"Retry-After": f"{max(wait, 0.01):g}"})


def _server_error() -> Response:
    return JSONResponse({"message": "An error occurred."}, status_code=500)


def build(snapshot: dict, *, faults: Faults | None = None, **knobs: Any) -> ZigZagSimulator:
    if knobs:
        raise TypeError(f"the ZigZag simulator takes no {', '.join(knobs)}")
    return ZigZagSimulator(snapshot, faults=faults)
