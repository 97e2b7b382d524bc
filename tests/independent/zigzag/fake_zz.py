"""A fake of ZigZag Global's Returns API (system ``zigzag``) as a retailer's integration sees it.

Written from docs/vendors/zigzag.md only (cited "zz §x"); nothing from the product. ZigZag
publishes an API introduction and no endpoint reference (zz "Read this first", §2), so most of
what follows is this fake's own CHOICE; each is a reasonable reading of the public material and
is listed below so that the profile options of the test can be set to match it.

What it serves (``make_app``)
* ``POST /token`` (zz §1.1, §6.1 "obtain a JWT token using the POST /token API"): JSON body
  ``{"username": ..., "password": ...}`` (the body third-party code sends, zz §1.2, §6.6).
  200 answers the JWT as a bare JSON string; 400 for a body that is not such an object; 401
  for wrong credentials. The JWT carries ``exp`` = issue time + ``token_ttl`` (default 1800 s:
  "Token validity expires every 30 minutes", zz §1.1); an expired or unknown token is a 401
  (zz §1.1, §5: "when a 401 (Unauthorized) response is received, a new token needs to be
  generated").
* ``GET /Return/api/v1/Returns`` (list) and ``GET /Return/api/v1/Returns/{returnId}`` (one),
  under the ``/Return/api/v1`` prefix ShipUp's ZigZag calls use (zz §1.2, §2, U2). Both need
  ``Authorization: Bearer <jwt>`` (zz §1.1) and the retailer code (zz §1.2, U4).
* Anything else: 404 ``{"message": "No HTTP resource was found ..."}``; in particular the
  third-party token path ``/Return/api/v1/Account/Token`` does not exist here.
* ``app.state.log``: one entry per request: t, method, path, query (dict), status, auth
  (``ok`` / ``missing`` / ``unknown`` / ``expired``), body (token calls; password masked).

CHOICES where the docs are silent (zz §8 "assumptions", §9 U-ids)
 Z1. Token path ``/token`` (the doc's own words, U3), JSON body, answer = the JWT as a JSON
     string (``"eyJ..."``), no ``expires_in``. The default ``/Return/api/v1/Account/Token`` is
     404 here, so the profile must set ``token_path``.
 Z2. Retailer scoping (U4): one API account serves two retailers (``HBR01`` Harbour Bay,
     ``HBR02`` its outlet); every read names one in the query parameter ``retailer``
     (required: 400 without it; 403 for a code the account does not hold). Reads see only that
     retailer's returns.
 Z3. List (U5, U6): ``GET /Return/api/v1/Returns?retailer=&pageNumber=&pageSize=``; pages are
     1-based (``pageNumber`` < 1 or not an integer: 400); ``pageSize`` default 20, larger than
     ``max_page_size`` (25) is clamped; a page past the end is an empty list. Newest
     ``dateCreated`` first, ties by ``returnId``. Envelope
     ``{"pageNumber", "pageSize", "totalRecords", "totalPages", "records": [...]}``.
     ``modifiedSince`` (ISO 8601) filters on ``stateChangedDate`` >= it (U7); unknown query
     parameters are ignored (as ASP.NET model binding does).
 Z4. One return (U5): ``GET /Return/api/v1/Returns/{returnId}?retailer=`` answers the bare
     object; 404 when that retailer has no such return.
 Z5. A return's fields (U8), after THG's names where THG shows one (zz §6.7):
     ``returnId`` (string, the id the ERP carries), ``id`` (int, an internal row id, decoy for
     the id candidates), ``returnOrderId`` (int), ``shipmentNumber`` (int or null),
     ``retailerCode``, ``orderNumber``, ``returnState`` (zz §3.2's "Change Return State to
     Received": the status under the help centre's word for it), ``emailAddress``,
     ``dateCreated``, ``stateChangedDate`` (when ``returnState`` last changed), ``dcWarehouse``,
     ``giftCardSelected``, ``notes``, ``products`` [``productSku``, ``productName``,
     ``quantity``, ``returnReasonId`` (int), ``returnReasonDetails``, ``returnOption``
     (``Refund`` / ``Exchange``)].
 Z6. Status wire values (U9): the six help-centre labels, spelled several ways (zz §7
     "spell status labels several ways"): ``Pending approval``, ``PendingApproval``,
     ``PENDING_APPROVAL``, ``APPROVED``, ``received``, ``REFUNDED``, ...
 Z7. Timestamps (U16): ISO 8601 extended, in several spellings: no offset with milliseconds
     (``2026-11-18T09:12:44.137``, UTC by U16), ``Z``, ``+00:00`` and ``+01:00`` (same instant).
 Z8. Errors (zz §5): JSON ``{"message": ...}``; 401 has ``WWW-Authenticate: Bearer``.
 Z9. Test hooks (not ZigZag behaviour, but what its documented 30-minute expiry and "rare"
     5xx look like inside a short test): ``expire_tokens_at_page=N`` expires every token issued
     so far when page N is first asked for (the 30-minute boundary falling mid-read);
     ``fail_once_at_page=N`` answers 502 the first time page N is asked for (zz §5 "5xx range
     – Error with ZigZag's servers (rare)"); ``clock`` replaces time.time; ``token_path``
     moves the token endpoint (only for a product that cannot be told Z1's path).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

USERNAME = "harbourbay.api"
PASSWORD = "zZ-hb!7Qe2r9Lm4Tx"
TOKEN_PATH = "/token"
DEFAULT_TOKEN_PATH = "/Return/api/v1/Account/Token"  # third-party code's path (zz §1.2, §6.6)
PREFIX = "/Return/api/v1"
LIST_PATH = PREFIX + "/Returns"
GET_PATH = PREFIX + "/Returns/{id}"
RETAILER_PARAM = "retailer"
PAGE_PARAM = "pageNumber"
SIZE_PARAM = "pageSize"
SINCE_PARAM = "modifiedSince"
LIST_FIELD = "records"
DEFAULT_PAGE_SIZE = 20
MAX_PAGE_SIZE = 25
_SIGNING_KEY = b"fake-zigzag-signing-key"

# Z6: the six help-centre statuses (zz §3.1) and the spellings this fake sends
PENDING, APPROVED, REJECTED = "Pending approval", "Approved", "Rejected"
RECEIVED, REFUNDED, EXCHANGE = "Received", "Refunded", "Exchange"
SIX = (PENDING, APPROVED, REJECTED, RECEIVED, REFUNDED, EXCHANGE)


def letters(s: str) -> str:
    return "".join(ch for ch in s.lower() if ch.isalpha())


def canonical(wire: str) -> str | None:
    """A wire spelling back to its help-centre label (letters only), None if not one of six."""
    return next((s for s in SIX if letters(s) == letters(wire)), None)


def zz_time(dt: datetime, style: str) -> str:
    """Z7: one instant, spelled one of four ways."""
    dt = dt.astimezone(UTC)
    if style == "naive_ms":
        return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}"
    if style == "z":
        return dt.strftime("%Y-%m-%dT%H:%M:%SZ")
    if style == "utc_offset":
        return dt.strftime("%Y-%m-%dT%H:%M:%S+00:00")
    if style == "plus1":
        return dt.astimezone(timezone(timedelta(hours=1))).strftime("%Y-%m-%dT%H:%M:%S+01:00")
    raise ValueError(style)


@dataclass
class ZZProduct:
    sku: str
    quantity: int
    reason_id: int
    name: str
    option: str = "Refund"  # Z5 returnOption
    details: str = ""

    def to_json(self) -> dict[str, Any]:
        return {
            "productSku": self.sku,
            "productName": self.name,
            "quantity": self.quantity,
            "returnReasonId": self.reason_id,
            "returnReasonDetails": self.details,
            "returnOption": self.option,
        }


@dataclass
class ZZReturn:
    return_id: str
    row_id: int
    retailer: str
    order_number: str
    state: str  # the wire spelling (Z6)
    email: str
    created: datetime
    state_changed: datetime
    products: list[ZZProduct]
    return_order_id: int
    shipment_number: int | None = None
    dc_warehouse: str = "DC-NHM"
    gift_card: bool = False
    notes: str = ""
    ts_style: str = "naive_ms"
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def status(self) -> str:
        label = canonical(self.state)
        assert label is not None, self.state
        return label

    def to_json(self) -> dict[str, Any]:
        out = {
            "id": self.row_id,
            "returnId": self.return_id,
            "returnOrderId": self.return_order_id,
            "shipmentNumber": self.shipment_number,
            "retailerCode": self.retailer,
            "orderNumber": self.order_number,
            "returnState": self.state,
            "emailAddress": self.email,
            "dateCreated": zz_time(self.created, self.ts_style),
            "stateChangedDate": zz_time(self.state_changed, self.ts_style),
            "dcWarehouse": self.dc_warehouse,
            "giftCardSelected": self.gift_card,
            "notes": self.notes,
            "products": [p.to_json() for p in self.products],
        }
        out.update(self.extra)
        return out


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def make_jwt(claims: dict[str, Any]) -> str:
    head = _b64(json.dumps({"alg": "HS256", "typ": "JWT"}, separators=(",", ":")).encode())
    body = _b64(json.dumps(claims, separators=(",", ":")).encode())
    sig = _b64(hmac.new(_SIGNING_KEY, f"{head}.{body}".encode(), hashlib.sha256).digest())
    return f"{head}.{body}.{sig}"


def jwt_claims(token: str) -> dict[str, Any]:
    body = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))


def _parse_since(text: str) -> datetime:
    dt = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return dt if dt.tzinfo else dt.replace(tzinfo=UTC)


def make_app(
    returns: list[ZZReturn],
    *,
    retailers: tuple[str, ...] = ("HBR01", "HBR02"),
    username: str = USERNAME,
    password: str = PASSWORD,
    token_ttl: float = 1800,
    max_page_size: int = MAX_PAGE_SIZE,
    expire_tokens_at_page: int | None = None,
    fail_once_at_page: int | None = None,
    clock: Callable[[], float] = time.time,
    token_path: str = TOKEN_PATH,
) -> Starlette:
    log: list[dict[str, Any]] = []
    tokens: dict[str, float] = {}  # token -> expiry (clock seconds)
    lock = threading.Lock()
    hooks = {"expired": False, "failed": False}  # Z9: each fires once
    t0 = time.monotonic()

    def record(request: Request, status: int, **extra: Any) -> None:
        with lock:
            log.append({"t": time.monotonic() - t0, "method": request.method,
                        "path": request.url.path, "query": dict(request.query_params),
                        "status": status, **extra})

    def error(status: int, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
        return JSONResponse({"message": message}, status_code=status, headers=headers)

    # -- POST /token (Z1) ---------------------------------------------------------------------
    async def token(request: Request) -> Response:
        raw = await request.body()
        try:
            body = json.loads(raw.decode("utf-8")) if raw else None
        except (UnicodeDecodeError, json.JSONDecodeError):
            body = None
        shown = ({k: ("***" if k == "password" else v) for k, v in body.items()}
                 if isinstance(body, dict) else None)
        if (not isinstance(body, dict) or not isinstance(body.get("username"), str)
                or not isinstance(body.get("password"), str)):
            record(request, 400, body=shown, raw=raw[:200].decode("utf-8", "replace")
                   if not isinstance(body, dict) else None)
            return error(400, "The username field is required. The password field is required.")
        if body["username"] != username or body["password"] != password:
            record(request, 401, body=shown)
            return error(401, "Invalid username or password.")
        now = clock()
        claims = {"sub": username, "retailers": list(retailers), "iat": int(now),
                  "exp": int(now + token_ttl), "jti": hashlib.sha256(
                      f"{now}/{len(tokens)}".encode()).hexdigest()[:16]}
        tok = make_jwt(claims)
        with lock:
            tokens[tok] = now + token_ttl
        record(request, 200, body=shown)
        return JSONResponse(tok)

    def auth_state(request: Request) -> str:
        header = request.headers.get("authorization", "")
        if not header.startswith("Bearer "):
            return "missing"
        exp = tokens.get(header[7:].strip())
        if exp is None:
            return "unknown"
        return "ok" if exp > clock() else "expired"

    def unauthorised() -> JSONResponse:
        return error(401, "Unauthorized", {"WWW-Authenticate": "Bearer"})

    def retailer_of(request: Request) -> tuple[str | None, JSONResponse | None]:
        code = request.query_params.get(RETAILER_PARAM)
        if not code:
            return None, error(400, f"The {RETAILER_PARAM} field is required.")
        if code not in retailers:
            return None, error(403, f"Retailer '{code}' is not available to this account.")
        return code, None

    # -- GET list (Z3) ------------------------------------------------------------------------
    async def list_returns(request: Request) -> Response:
        q = request.query_params
        page_text = q.get(PAGE_PARAM, "1")
        page = int(page_text) if page_text.lstrip("-").isdigit() else None
        if expire_tokens_at_page is not None and page == expire_tokens_at_page:
            with lock:
                if not hooks["expired"]:
                    hooks["expired"] = True
                    for t in tokens:
                        tokens[t] = min(tokens[t], clock() - 1)
        state = auth_state(request)
        if state != "ok":
            record(request, 401, auth=state)
            return unauthorised()
        code, err = retailer_of(request)
        if err is not None:
            record(request, err.status_code, auth=state)
            return err
        if page is None or page < 1:
            record(request, 400, auth=state)
            return error(400, f"The value '{page_text}' is not valid for {PAGE_PARAM}.")
        size_text = q.get(SIZE_PARAM, str(DEFAULT_PAGE_SIZE))
        if not size_text.isdigit() or int(size_text) < 1:
            record(request, 400, auth=state)
            return error(400, f"The value '{size_text}' is not valid for {SIZE_PARAM}.")
        size = min(int(size_text), max_page_size)
        fail = False
        with lock:
            if fail_once_at_page is not None and page == fail_once_at_page and not hooks["failed"]:
                hooks["failed"] = fail = True
        if fail:
            record(request, 502, auth=state)
            return error(502, "Bad Gateway")
        rows = [r for r in returns if r.retailer == code]
        since = q.get(SINCE_PARAM)
        if since:
            try:
                cut = _parse_since(since)
            except ValueError:
                record(request, 400, auth=state)
                return error(400, f"The value '{since}' is not valid for {SINCE_PARAM}.")
            rows = [r for r in rows if r.state_changed >= cut]
        rows.sort(key=lambda r: (-r.created.timestamp(), r.return_id))
        total = len(rows)
        chunk = rows[(page - 1) * size: page * size]
        record(request, 200, auth=state, count=len(chunk),
               ids=[r.return_id for r in chunk])
        return JSONResponse({
            "pageNumber": page,
            "pageSize": size,
            "totalRecords": total,
            "totalPages": (total + size - 1) // size,
            LIST_FIELD: [r.to_json() for r in chunk],
        })

    # -- GET one (Z4) -------------------------------------------------------------------------
    async def get_return(request: Request) -> Response:
        state = auth_state(request)
        if state != "ok":
            record(request, 401, auth=state)
            return unauthorised()
        code, err = retailer_of(request)
        if err is not None:
            record(request, err.status_code, auth=state)
            return err
        rid = request.path_params["rid"]
        hit = next((r for r in returns if r.retailer == code and r.return_id == rid), None)
        if hit is None:
            record(request, 404, auth=state)
            return error(404, f"Return '{rid}' was not found.")
        record(request, 200, auth=state)
        return JSONResponse(hit.to_json())

    async def not_found(request: Request) -> Response:
        record(request, 404)
        return error(404, f"No HTTP resource was found that matches the request URI "
                          f"'{request.url.path}'.")

    methods = ["GET", "POST", "PUT", "PATCH", "DELETE"]
    app = Starlette(routes=[
        Route(token_path, token, methods=["POST"]),
        Route(LIST_PATH, list_returns, methods=["GET"]),
        Route(PREFIX + "/Returns/{rid}", get_return, methods=["GET"]),
        Route("/{path:path}", not_found, methods=methods),
    ])
    app.state.log = log
    app.state.tokens = tokens
    return app
