"""Happy Returns, read from its webhooks and looked up one return at a time
(docs/vendors/happy-returns.md; docs/happy-returns-mapping.md).

Happy Returns has no list of returns (§2.5): its return.asn webhooks (kept by `listen` in
the inbox) say what happens to each return, and Get Return Details (`POST /return`, one
criterion, §2.2-2.3) finds a return the ERP knows that no delivery named. The key goes in
`X-Hr-Apikey` (§1.1); requests are paced at the leaky bucket's 0.5 a second (§3), and a
429's body says how long to wait (no Retry-After is documented). What a delivery or an
answer says is folded per return (`fold.py`); a body that does not read is a payload
problem, never an exception.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import httpx
from pydantic import SecretStr

from ...connectors.auth import ApiKeyHeader
from ...connectors.base import InboxEvent, PlatformBatch, WebhookSpec
from ...connectors.errors import NotFoundError, RequestError
from ...connectors.http import CallLog, HttpClient, RetryPolicy, decode_json, json_or_none
from ...connectors.pacing import Pacer
from ...domain.codes import Side, Stage
from ...domain.model import PayloadProblem
from ...domain.pace import breathe
from ...visible import visible
from . import fold
from .fold import SYSTEM, Settings
from .webhooks import LABEL_TOPIC, RETURN_TOPIC, webhook_spec

KEY_HEADER = "X-Hr-Apikey"
#: "… after X seconds" (§3, §8.3): the number a 429's message gives (the bucket size).
_BUCKET = re.compile(r"bucket size\s+([0-9]+(?:\.[0-9]+)?)", re.IGNORECASE)
#: What a kept delivery is filed under, per return (the cache keeps these).
RETURN_REF = f"{SYSTEM}:return:"
DELIVERY_REF = f"{SYSTEM}:delivery:"


class HappyReturnsConnector:
    system = SYSTEM

    def __init__(self, *, base_url: str, api_key: SecretStr | str, settings: Settings,
                 webhook_secret: Callable[[], str] | None = None,
                 signature_scheme: str = "hmac_sha256_hex", lookup_path: str = "/return",
                 log: CallLog | None = None, transport: Any = None,
                 retry: RetryPolicy | None = None, pacer: Pacer | None = None) -> None:
        self.settings = settings
        self.lookup_path = lookup_path
        self.signature_scheme = signature_scheme
        self._webhook_secret = webhook_secret
        self.http = HttpClient(SYSTEM, base_url, auth=ApiKeyHeader(KEY_HEADER, api_key),
                               concurrency=1, retry=retry, log=log, transport=transport,
                               pacer=pacer, error_parser=_error_text, wait_said=_bucket_wait)

    # -- events ----------------------------------------------------------------------------

    def webhook(self) -> WebhookSpec:
        if self._webhook_secret is None:
            raise ValueError("this Happy Returns connector was made without its webhook secret")
        return webhook_spec(self._webhook_secret(), self.signature_scheme)

    def from_events(self, events: Sequence[InboxEvent],
                    earlier: PlatformBatch | None) -> PlatformBatch:
        """Each delivery filed with the return it speaks of (after those kept), then every
        touched return folded again."""
        raw: dict[str, Any] = dict(earlier.raw) if earlier is not None else {}
        touched: set[str] = set()
        for event in events:
            breathe()
            if event.topic not in (RETURN_TOPIC, LABEL_TOPIC):
                continue  # not one the console reads (U11): kept in the inbox
            try:
                body = decode_json(event.body)
            except ValueError:
                body = None
            when = event.received_at.astimezone(UTC).isoformat()
            if not isinstance(body, Mapping):
                raw[f"{DELIVERY_REF}{event.delivery_id}"] = {
                    "received_at": when, "text": visible(event.body.decode(
                        "utf-8", errors="replace"))[:2000]}
                continue
            retailer = body.get("retailerID")
            if isinstance(retailer, str) and retailer != self.settings.retailer_id:
                continue  # another retailer's, on a key that serves several (U23)
            ids = list(dict.fromkeys(fold.return_ids(body)))
            if not ids or len(ids) > MAX_RETURNS:
                # names no return, or more than one delivery of one return's order can
                raw[f"{DELIVERY_REF}{event.delivery_id}"] = {"received_at": when,
                                                              "text": f"names {len(ids)} "
                                                              "returns"}
                continue
            for rid in ids:
                key = f"{RETURN_REF}{rid}"
                kept = list(raw.get(key) or [])
                kept.append({"received_at": when, "body": _own(body, rid)})
                raw[key] = kept
                touched.add(key)
        return self._batch(raw, earlier, touched)

    def _batch(self, raw: dict[str, Any], earlier: PlatformBatch | None,
               touched: set[str] | None) -> PlatformBatch:
        """Views of every return in `raw`: the untouched ones as they were (`earlier`), the
        touched ones (None: all) folded again."""
        batch = PlatformBatch(raw=raw)
        kept = {v.raw_ref: v for v in earlier.views} if earlier is not None else {}
        for key, value in raw.items():
            breathe()
            if key.startswith(DELIVERY_REF):
                said = value.get("text") if isinstance(value, Mapping) else None
                ref = key[len(DELIVERY_REF):][:12]
                batch.problems.setdefault(f"delivery-{ref}", []).append(PayloadProblem(
                    side=Side.PLATFORM, record_id=f"delivery {ref}", stage=Stage.AUTHORISED,
                    raw_ref=key, error="a delivery that is not a JSON object" if said
                    is not None else "a delivery that names no return"))
                continue
            if not key.startswith(RETURN_REF):
                continue
            if touched is not None and key not in touched and key in kept:
                batch.views.append(kept[key])
                continue
            rid = key[len(RETURN_REF):]
            if not isinstance(value, list):
                batch.problems.setdefault(rid, []).append(PayloadProblem(
                    side=Side.PLATFORM, record_id=rid, stage=Stage.AUTHORISED, raw_ref=key,
                    error="its kept deliveries are not a list"))
                continue
            try:
                state = fold.fold(value, rid)
                view, problems = fold.view(state, self.settings)
            except Exception as exc:
                view, problems = None, [PayloadProblem(
                    side=Side.PLATFORM, record_id=rid, stage=Stage.AUTHORISED, raw_ref=key,
                    error=f"its deliveries could not be read ({type(exc).__name__})")]
            else:
                if state.unknown:
                    batch.notes.append(f"Happy Returns return {rid} had status "
                                       f"{', '.join(state.unknown)}, which the console does "
                                       "not know: kept, not read")
            if view is not None:
                batch.views.append(view)
            for problem in problems:
                batch.problems.setdefault(problem.record_id or key, []).append(problem)
        batch.views.sort(key=lambda v: v.return_ref)
        if earlier is not None:
            batch.cursor, batch.fetched_at = earlier.cursor, earlier.fetched_at
        return batch

    def from_raw(self, kept: PlatformBatch) -> PlatformBatch:
        batch = self._batch(dict(kept.raw), None, None)
        batch.cursor, batch.fetched_at = kept.cursor, kept.fetched_at
        return batch

    # -- look-ups --------------------------------------------------------------------------

    async def lookup(self, refs: Sequence[str]) -> PlatformBatch:
        """Get Return Details for each reference, by express code (one criterion, U6): a
        204 (or 404, or another refusal of that reference) is one Happy Returns does not
        know, absent from the batch. Only an express code can be looked up: a profile whose
        ERP carries another id (`link_ref`) asks nothing."""
        raw: dict[str, Any] = {}
        if self.settings.link_ref not in ("auto", "happyReturnsExpressCode"):
            return self._batch(raw, None, None)
        for ref in refs:
            try:  # a read, though a POST (§2.2): retried like one
                response = await self.http.request("POST", self.lookup_path, json_body={
                    "happyReturnsRetailerID": self.settings.retailer_id,
                    "happyReturnsExpressCode": ref})
            except NotFoundError:
                continue
            except RequestError as exc:
                if exc.status in (401, 403):
                    raise
                continue  # this reference refused (400): not one Happy Returns knows
            if response.status_code == 204 or not response.content:
                continue
            try:
                answer = decode_json(response.content)
            except ValueError:
                continue  # no answer to read: asked again later
            for body in answer if isinstance(answer, list) else [answer]:
                if not isinstance(body, Mapping):
                    continue
                status = body.get("status") if isinstance(body.get("status"), str) else None
                for rid in list(dict.fromkeys(fold.return_ids(body)))[:MAX_RETURNS]:
                    key = f"{RETURN_REF}{rid}"
                    found = {"received_at": None, "body": {
                        **_own(body, rid), "happyReturnsExpressCode":
                        body.get("happyReturnsExpressCode") or ref}, "source": "lookup"}
                    if status:
                        found["status"] = status
                    raw.setdefault(key, []).append(found)
        batch = self._batch(raw, None, None)
        batch.fetched_at = datetime.now(UTC)
        return batch

    def merge(self, earlier: PlatformBatch, changed: PlatformBatch) -> PlatformBatch:
        """A look-up's answers laid after what was kept of each return."""
        raw = dict(earlier.raw)
        touched = set()
        for key, value in changed.raw.items():
            if key.startswith(RETURN_REF) and isinstance(value, list):
                raw[key] = [*(raw.get(key) or []), *value]
                touched.add(key)
            else:
                raw[key] = value
        batch = self._batch(raw, earlier, touched)
        batch.fetched_at = changed.fetched_at or earlier.fetched_at
        return batch

    async def check_connection(self) -> str:
        """A look-up of a reference no return has: 204 (not found) is a working key."""
        try:
            response = await self.http.request("POST", self.lookup_path, json_body={
                "happyReturnsRetailerID": self.settings.retailer_id,
                "happyReturnsExpressCode": "RC-PING"})
            status = response.status_code
        except NotFoundError:
            status = 404
        return (f"Happy Returns: reachable for retailer {self.settings.retailer_id} (a "
                f"look-up answered {status})")

    async def aclose(self) -> None:
        await self.http.aclose()


#: The most returns one delivery or answer may name (one return's order names one).
MAX_RETURNS = 50


def _own(body: Mapping[str, Any], rid: str) -> dict[str, Any]:
    """The body with only the items of return `rid` (what is kept under it)."""
    listed = body.get("items")
    if not isinstance(listed, list):
        return dict(body)
    return {**body, "items": [i for i in listed if isinstance(i, Mapping)
                              and fold._text(i.get("happyReturnsReturnID")) == rid]}


def _bucket_wait(response: httpx.Response) -> float | None:
    """How long a 429 asks to wait: the bucket size its message names, in seconds (§3:
    "you should be able to make the request again after X seconds")."""
    found = _BUCKET.search(response.text or "")
    return float(found.group(1)) if found else None


def _error_text(response: httpx.Response) -> str | None:
    body = json_or_none(response)
    if isinstance(body, Mapping):
        for key in ("ErrorMessage", "error", "message"):
            if isinstance(body.get(key), str):
                return str(body[key])[:300]
    text = (response.text or "").strip().replace("\n", " ")
    return text[:200] or None
