"""A fake of Swap Commerce's Returns API v2 (``GET /v2/external/returns``), written from Swap's
public documentation only:

* help.swap-commerce.com/en/articles/12427435-rma-api-latest-version-returns-v2 (auth header
  ``x-api-key``; base ``https://api-gateway.swap-os.com/returns-api``; query ``swap_store_id``*,
  ``rma_number``, ``shopify_order_name``, ``customer_email``, ``from_return_submission_date``,
  ``to_return_submission_date``, ``last_RMA_updated_date``, ``api_version``,
  ``items_per_page`` (max 100), ``page``);
* the docs-derived operation/schema pages for ``getExternalReturnsV2``:
  ``ExternalReturnsV2ResponseDto {returns, version, query_params, pagination}``,
  ``ExternalReturnV2Dto``, ``ExternalShipmentDto``, ``ExternalShipmentItemDto``.

CHOICES where the docs are silent (repeated in the report):
* URL join: the help article gives ``.../returns-api`` as the endpoint and the operation page
  ``GET /v2/external/returns``; this fake answers on ``{mount}/v2/external/returns`` and also on
  ``{mount}`` itself, and records which one was used.
* ``PaginationMetadata`` fields are unpublished: this fake sends ``page``, ``items_per_page``,
  ``total_pages``, ``total_items``, ``has_next_page``, ``has_previous_page`` (the v1 shape a
  third-party client documents).
* Default ``items_per_page`` 50; more than 100 is a 400 (NestJS-style validation body).
* Records are ordered by ``date_updated`` ascending (then ``rma_number``).
* A key used with another store's id is a 403; a missing ``swap_store_id`` a 400.
* Date filters compare ISO timestamps; ``last_RMA_updated_date`` keeps records updated after it.
"""

from __future__ import annotations

import math
import threading
from datetime import datetime
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from . import scenario


def _parse_ts(value: str) -> datetime | None:
    v = value.strip().replace(" ", "+")
    if v.endswith("Z"):
        v = v[:-1] + "+00:00"
    try:
        dt = datetime.fromisoformat(v)
    except ValueError:
        return None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=scenario.UTC)
    return dt


def _bad_request(messages: list[str]) -> JSONResponse:
    return JSONResponse(
        {"statusCode": 400, "message": messages, "error": "Bad Request"}, status_code=400
    )


def make_app(world: Any, mount: str = "/returns-api", api_key: str | None = None) -> Starlette:
    log: list[dict[str, Any]] = []
    lock = threading.Lock()

    async def list_returns(request: Request) -> JSONResponse:
        qp = request.query_params
        with lock:
            log.append(
                {
                    "path": request.url.path,
                    "query": str(request.url.query),
                    "api_key": request.headers.get("x-api-key"),
                }
            )
        if request.headers.get("x-api-key") != (api_key or scenario.API_KEY):
            return JSONResponse({"statusCode": 401, "message": "Unauthorized"}, status_code=401)
        store = qp.get("swap_store_id")
        if not store:
            return _bad_request(
                ["swap_store_id should not be empty", "swap_store_id must be a string"]
            )
        if store not in world.swap_returns:
            return JSONResponse(
                {"statusCode": 403, "message": "Forbidden resource", "error": "Forbidden"},
                status_code=403,
            )
        errors: list[str] = []
        try:
            per_page = int(qp.get("items_per_page", "50"))
        except ValueError:
            per_page = 0
            errors.append("items_per_page must be an integer number")
        if per_page > 100:
            errors.append("items_per_page must not be greater than 100")
        if per_page < 1 and not errors:
            errors.append("items_per_page must not be less than 1")
        try:
            page = int(qp.get("page", "1"))
        except ValueError:
            page = 0
            errors.append("page must be an integer number")
        if page < 1 and not any(e.startswith("page") for e in errors):
            errors.append("page must not be less than 1")
        filters: dict[str, datetime] = {}
        for name in (
            "from_return_submission_date",
            "to_return_submission_date",
            "last_RMA_updated_date",
        ):
            if name in qp:
                ts = _parse_ts(qp[name])
                if ts is None:
                    errors.append(f"{name} must be a valid ISO 8601 date string")
                else:
                    filters[name] = ts
        if errors:
            return _bad_request(errors)

        records = list(world.swap_returns[store])
        if "rma_number" in qp:
            records = [r for r in records if r["rma_number"] == qp["rma_number"]]
        if "shopify_order_name" in qp:
            records = [r for r in records if r["shopify_order_name"] == qp["shopify_order_name"]]
        if "customer_email" in qp:
            records = [
                r
                for r in records
                if (r["customer_email"] or "").lower() == qp["customer_email"].lower()
            ]
        if "from_return_submission_date" in filters:
            lo = filters["from_return_submission_date"]
            records = [r for r in records if _parse_ts(r["submission_date"]) >= lo]
        if "to_return_submission_date" in filters:
            hi = filters["to_return_submission_date"]
            records = [r for r in records if _parse_ts(r["submission_date"]) <= hi]
        if "last_RMA_updated_date" in filters:
            since = filters["last_RMA_updated_date"]
            records = [r for r in records if _parse_ts(r["date_updated"]) > since]

        total = len(records)
        total_pages = max(1, math.ceil(total / per_page)) if total else 0
        chunk = records[(page - 1) * per_page : page * per_page]
        echo: dict[str, Any] = {"swap_store_id": store}
        for k in (
            "rma_number",
            "shopify_order_name",
            "from_return_submission_date",
            "to_return_submission_date",
            "last_RMA_updated_date",
        ):
            if k in qp:
                echo[k] = qp[k]
        echo["api_version"] = int(qp["api_version"]) if qp.get("api_version", "").isdigit() else 2
        echo["items_per_page"] = per_page
        echo["page"] = page
        body = {
            "returns": chunk,
            "version": 2,
            "query_params": echo,
            "pagination": {
                "page": page,
                "items_per_page": per_page,
                "total_pages": total_pages,
                "total_items": total,
                "has_next_page": page < total_pages,
                "has_previous_page": page > 1,
            },
        }
        return JSONResponse(body)

    async def not_found(request: Request) -> JSONResponse:
        with lock:
            log.append({"path": request.url.path, "query": str(request.url.query), "status": 404})
        return JSONResponse(
            {"statusCode": 404, "message": f"Cannot GET {request.url.path}", "error": "Not Found"},
            status_code=404,
        )

    mount = mount.rstrip("/")
    routes = [
        Route(f"{mount}/v2/external/returns", list_returns, methods=["GET"]),
        Route(f"{mount}/v2/external/returns/", list_returns, methods=["GET"]),
        Route(mount or "/", list_returns, methods=["GET"]),
        Route("/{path:path}", not_found, methods=["GET", "POST", "PUT", "PATCH", "DELETE"]),
    ]
    app = Starlette(routes=routes)
    app.state.log = log
    return app
