"""ZigZag, read as far as its public material allows (docs/vendors/zigzag.md,
docs/zigzag-mapping.md).

What ZigZag documents: a username and password buy a JWT (`POST /token`), sent as
`Authorization: Bearer`, valid 30 minutes, a new one on a 401 (§1.1); six statuses (§3.1);
webhooks retried daily for seven days (§4.1). What it does not: where returns are listed or
read, their fields, paging, webhook payloads (§2, §8). Each of those is a profile option
(options.py): the paths are unset until ZigZag says them, and a read without them says
which option to set. Field names are lists of candidates, the first present wins (U8); a
status is matched to the six by its letters alone (U9). A record that does not read is a
payload problem under its id, never an exception.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import quote

import httpx
from pydantic import SecretStr

from ...connectors.auth import BearerToken
from ...connectors.base import InboxEvent, PlatformBatch, WebhookSpec
from ...connectors.errors import (
    AuthError,
    InvalidPayloadError,
    MisconfiguredError,
    NotFoundError,
    RequestError,
)
from ...connectors.http import CallLog, HttpClient, RetryPolicy, decode_json, json_or_none
from ...connectors.pacing import Pacer
from ...domain.codes import Side, Stage, StageStatus
from ...domain.model import PayloadProblem, PlatformLine, PlatformView, StageView
from ...domain.pace import breathe
from .options import ZigZagOptions

SYSTEM = "zigzag"
#: The six statuses (§3.1), by their letters alone (U9: the wire spelling is not published).
STATUSES = {"pendingapproval": "Pending approval", "approved": "Approved",
            "rejected": "Rejected", "received": "Received", "refunded": "Refunded",
            "exchange": "Exchange", "exchanged": "Exchange"}
_LETTERS = re.compile(r"[^a-z]")
#: ISO 8601 basic (`2013-10-31T000000Z`, §3.5), as ZigZag writes file names.
_BASIC = re.compile(r"^(\d{4})-?(\d{2})-?(\d{2})T(\d{2}):?(\d{2}):?(\d{2})(\.\d+)?"
                    r"(Z|[+-]\d{2}:?\d{2})?$")


class ZigZagToken(BearerToken):
    """The JWT ZigZag's username and password buy (§1.1, U3): posted as JSON, answered as a
    bare token or an object holding one; kept for its documented 30 minutes."""

    def __init__(self, token_path: str, username: str, password: SecretStr, *,
                 ttl: float = 1800.0) -> None:
        super().__init__(leeway=60.0)
        self.token_path = token_path
        self.username = username
        self._password = password
        self.ttl = ttl

    async def _fetch(self, http: HttpClient) -> None:
        try:
            response = await http.request("POST", self.token_path, authenticate=False,
                                          json_body={"username": self.username,
                                                     "password": self._password
                                                     .get_secret_value()})
        except (AuthError, RequestError) as exc:
            if isinstance(exc, RequestError) and exc.status not in (400, 403):
                raise
            raise AuthError(SYSTEM, "ZigZag refused the username and password (check them "
                            "in the profile)", status=exc.status) from None
        token = _token_of(response)
        if not token:
            raise InvalidPayloadError(SYSTEM, "ZigZag's token answer holds no token")
        self._keep(SecretStr(token), self.ttl)

    def secrets(self) -> list[str]:
        token = self._token.get_secret_value() if self._token is not None else None
        return [v for v in (self._password.get_secret_value(), self.username, token) if v]


def _token_of(response: httpx.Response) -> str | None:
    """A bare JWT (text or a JSON string), or the first of `token`, `access_token`,
    `accessToken`, `jwt` in an object (U3)."""
    body = json_or_none(response)
    if isinstance(body, str):
        return body.strip() or None
    if isinstance(body, Mapping):
        for key in ("token", "access_token", "accessToken", "jwt"):
            if isinstance(body.get(key), str) and body[key].strip():
                return str(body[key]).strip()
        return None
    text = response.text.strip().strip('"')
    return text if text.count(".") == 2 and " " not in text else None


class ZigZagConnector:
    system = SYSTEM

    def __init__(self, *, base_url: str, username: str, password: SecretStr | str,
                 options: ZigZagOptions, webhook_secret: Any = None,
                 log: CallLog | None = None, transport: Any = None,
                 retry: RetryPolicy | None = None, pacer: Pacer | None = None) -> None:
        self.o = options
        self._webhook_secret = webhook_secret
        secret = password if isinstance(password, SecretStr) else SecretStr(password)
        self.auth = ZigZagToken(options.token_path, username, secret,
                                ttl=options.token_ttl_seconds)
        self.http = HttpClient(SYSTEM, base_url, auth=self.auth, concurrency=2, retry=retry,
                               log=log, transport=transport, pacer=pacer,
                               error_parser=_error_text)

    # -- reads -----------------------------------------------------------------------------

    async def fetch_returns(self, *, updated_since: datetime | None = None,
                            hints: Sequence[InboxEvent] = ()) -> PlatformBatch:
        """The list, every page (as the profile's paging says); from `updated_since` where
        the profile names its parameter, else whole. A return a webhook named since is read
        again by id where the profile names that path."""
        if not self.o.returns_list_path:
            raise MisconfiguredError(SYSTEM, "ZigZag has not published where its returns "
                                     "are listed: ask ZigZag, then set --platform-option "
                                     "returns_list_path=/… (and the paging and field options "
                                     "its answer needs; docs/zigzag-mapping.md)")
        fetched_at = datetime.now(UTC)
        records: list[Any] = []
        notes: list[str] = []
        params: dict[str, str] = {}
        if self.o.retailer_param:
            params[self.o.retailer_param] = self.o.retailer_code
        if updated_since is not None and self.o.updated_since_param:
            params[self.o.updated_since_param] = (updated_since - timedelta(minutes=5)) \
                .astimezone(UTC).isoformat().replace("+00:00", "Z")
        cursor: str | None = None
        seen_cursors: set[str] = set()
        last_first: Any = object()
        for page in range(1, self.o.max_pages + 1):
            query = dict(params)
            if self.o.paging == "page":
                query[self.o.page_param] = str(page - 1 + self.o.first_page)
            if self.o.paging != "none" and self.o.size_param:
                query[self.o.size_param] = str(self.o.page_size)
            if self.o.paging == "cursor" and cursor:
                query[self.o.cursor_param] = cursor
            body = self.http.decode(await self.http.request("GET", self.o.returns_list_path,
                                                           params=query))
            found = self._list(body)
            if self.o.paging == "page" and found and _same(found[0], last_first):
                raise InvalidPayloadError(SYSTEM, f"ZigZag answered page {page} with the page "
                                          "before it: is page_param (or first_page) right?")
            records.extend(found)
            if self.o.paging == "none":
                break
            if self.o.paging == "page":
                if not found:  # an empty page ends it (a server may cap a page below ours)
                    break
                last_first = found[0]
            if self.o.paging == "cursor":
                given = _first(body, self.o.cursor_field) if isinstance(body, Mapping) else None
                cursor = str(given) if isinstance(given, str | int) and not isinstance(
                    given, bool) and str(given) else None
                if cursor is None:
                    break
                if cursor in seen_cursors:
                    raise InvalidPayloadError(SYSTEM, "ZigZag gave a cursor it gave before: "
                                              "the list would never end")
                seen_cursors.add(cursor)
        else:  # never all clear on a list read in part
            raise InvalidPayloadError(SYSTEM, f"ZigZag's list went on past {self.o.max_pages} "
                                      "pages: raise the option max_pages")
        for rid in _named(hints, self.o.field_return_id):
            if not self.o.return_get_path:
                break
            try:
                body = self.http.decode(await self.http.request(
                    "GET", self.o.return_get_path.replace("{id}", quote(rid, safe="")),
                    params=params or None))
            except NotFoundError:
                continue
            except RequestError as exc:
                if exc.status in (401, 403):
                    raise
                notes.append(f"ZigZag would not give return {rid[:40]} a webhook named "
                             f"({exc.status}); the list read has it if it exists")
                continue
            records.append(body)
        batch = self.batch(records)
        batch.fetched_at, batch.notes = fetched_at, notes
        batch.cursor = fetched_at.isoformat()
        return batch

    def _list(self, body: Any) -> list[Any]:
        if isinstance(body, list):
            return body
        if isinstance(body, Mapping):
            found = _first(body, self.o.list_field)
            if isinstance(found, list):
                return found
        raise InvalidPayloadError(SYSTEM, "ZigZag's list answer is neither a list nor an "
                                  f"object with one of {', '.join(self.o.list_field)} (option "
                                  "list_field)")

    def batch(self, records: Sequence[Any]) -> PlatformBatch:
        """Records → views (the last of one id wins), each kept under its raw_ref."""
        batch = PlatformBatch()
        views: dict[str, PlatformView] = {}
        for n, record in enumerate(records):
            breathe()
            rid = _text(_first(record, self.o.field_return_id)) if isinstance(
                record, Mapping) else None
            ref = f"{SYSTEM}:return:{rid or f'?{n}'}"
            batch.raw[ref] = record
            view, problem = self.view(record, ref)
            if view is not None:
                views[view.return_ref] = view
                batch.problems.pop(view.return_ref, None)
            elif problem is not None:
                batch.problems.setdefault(problem.record_id or ref, []).append(problem)
        batch.views = sorted(views.values(), key=lambda v: v.return_ref)
        return batch

    def view(self, record: Any, raw_ref: str) -> tuple[PlatformView | None,
                                                      PayloadProblem | None]:
        def problem(why: str, ref: str | None = None) -> tuple[None, PayloadProblem]:
            return None, PayloadProblem(side=Side.PLATFORM, record_id=ref or raw_ref,
                                        stage=Stage.AUTHORISED, error=why, raw_ref=raw_ref)

        if not isinstance(record, Mapping):
            return problem("a return that is not a JSON object")
        o = self.o
        rid = _text(_first(record, o.field_return_id))
        if rid is None:
            return problem(f"no return id ({', '.join(o.field_return_id)})")
        said = _text(_first(record, o.field_status))
        status = STATUSES.get(_LETTERS.sub("", (said or "").casefold()))
        if status is None:
            return problem(f"status {said!r} is none of ZigZag's six (option: the status "
                           "letters are matched; ask ZigZag for its spelling)", rid)
        listed = _first(record, o.field_lines)
        if listed is not None and not isinstance(listed, list):
            return problem(f"its lines ({', '.join(o.field_lines)}) are not a list", rid)
        lines = []
        for n, line in enumerate(listed or ()):
            if not isinstance(line, Mapping):
                return problem(f"line {n} is not an object", rid)
            sku = _text(_first(line, o.field_sku))
            quantity = _number(_first(line, o.field_quantity))
            if sku is None or quantity is None or quantity <= 0:
                return problem(f"line {n} has no SKU or no positive quantity", rid)
            reason = _first(line, o.field_reason)
            lines.append(PlatformLine(line_ref=f"{rid}-{n + 1}", sku=sku, quantity=quantity,
                                      reason=str(reason) if reason not in (None, "") else None))
        if not lines:
            return problem(f"no lines ({', '.join(o.field_lines)})", rid)
        created, updated = _moment(_first(record, o.field_created)), _moment(
            _first(record, o.field_updated))
        return PlatformView(
            system=SYSTEM, return_ref=rid, order_ref=_text(_first(record, o.field_order)),
            customer_email=_text(_first(record, o.field_email)), created_at=created,
            lines=tuple(lines),
            stages=_stages(status, created, updated, o.refunded_means_received),
            raw_ref=raw_ref), None

    def merge(self, earlier: PlatformBatch, changed: PlatformBatch) -> PlatformBatch:
        """Without a changed-since parameter every read is the whole list: it replaces.
        With one, what changed is laid over the records kept, and the views are made
        from the records (as `from_raw` makes them)."""
        if not self.o.updated_since_param:
            return changed
        batch = self.batch(list({**earlier.raw, **changed.raw}.values()))
        batch.fetched_at, batch.cursor, batch.full_at, batch.notes = (
            changed.fetched_at, changed.cursor, earlier.full_at, changed.notes)
        return batch

    def from_raw(self, kept: PlatformBatch) -> PlatformBatch:
        batch = self.batch(list(kept.raw.values()))
        batch.fetched_at, batch.cursor, batch.full_at = kept.fetched_at, kept.cursor, \
            kept.full_at
        return batch

    # -- webhooks (hints) ---------------------------------------------------------------------

    def webhook(self) -> WebhookSpec:
        """ZigZag documents no signature (§4.1, U19): a delivery must carry the secret
        agreed at subscription in the profile's header (bare, or after `Bearer `). A
        delivery is its body's SHA-256 (U20): ZigZag resends the same one daily."""
        if self._webhook_secret is None:
            raise ValueError("this ZigZag connector was made without its webhook secret")
        secret = self._webhook_secret().encode()
        header = self.o.webhook_header.lower()

        def verify(headers: Mapping[str, str], raw_body: bytes) -> bool:
            given = (headers.get(header) or "").strip()
            given = given[7:].strip() if given.lower().startswith("bearer ") else given
            return bool(secret) and hmac.compare_digest(given.encode(), secret)

        def topic(headers: Mapping[str, str], raw_body: bytes) -> str:
            try:
                body = decode_json(raw_body)
            except ValueError:
                return "unknown"
            found = _first(body, ("event", "eventType", "type")) if isinstance(
                body, Mapping) else None
            return str(found) if found else "unknown"

        return WebhookSpec(verify=verify, topic=topic, suffix="webhooks",
                           delivery_id=lambda h, b: hashlib.sha256(b).hexdigest())

    async def check_connection(self) -> str:
        await self.auth.headers(self.http)
        if not self.o.returns_list_path:
            return ("ZigZag: the username and password buy a token; no returns_list_path is "
                    "set, so returns cannot be read yet (ask ZigZag for it)")
        return "ZigZag: the username and password buy a token; the returns list is set"

    async def aclose(self) -> None:
        await self.http.aclose()


def _named(hints: Sequence[InboxEvent], id_fields: Sequence[str]) -> list[str]:
    """The return ids the webhooks received name (U18: any delivery means "read it again")."""
    out: list[str] = []
    for event in hints:
        try:
            body = decode_json(event.body)
        except ValueError:
            continue
        for where in (body, body.get("data") if isinstance(body, Mapping) else None,
                      body.get("return") if isinstance(body, Mapping) else None):
            rid = _text(_first(where, id_fields)) if isinstance(where, Mapping) else None
            if rid and rid not in out:
                out.append(rid)
                break
    return out


def _stages(status: str, created: datetime | None, updated: datetime | None,
            refunded_received: bool = True) -> dict[Stage, StageView]:
    """§3.1-3.2: approved authorises; rejected ends it; received at the warehouse; refunded
    credits (the refund may be made outside ZigZag, U13: the ERP proves the money); an
    exchange is received and replaced. Only the current status's time is known."""
    done, now = StageStatus.DONE, updated or created
    out = {Stage.AUTHORISED: StageView(status=done, at=created, detail=status),
           # ZigZag publishes no inspection or grade (§3.4, U15): no clock waits for one
           Stage.INSPECTED: StageView(status=StageStatus.NOT_APPLICABLE,
                                      detail="ZigZag reports no inspection")}
    if status == "Pending approval":
        out[Stage.AUTHORISED] = StageView(status=StageStatus.PENDING, at=created, detail=status)
    elif status == "Rejected":
        out[Stage.AUTHORISED] = StageView(status=StageStatus.FAILED, at=now, detail=status)
    elif status == "Received":
        out[Stage.RECEIVED] = StageView(status=done, at=now, detail=status)
    elif status == "Refunded":
        out[Stage.CREDITED] = StageView(status=done, at=now, detail=status)
        if refunded_received:  # Received unlocks the refund (§3.2; option)
            out[Stage.RECEIVED] = StageView(status=done, detail="received before the refund")
    elif status == "Exchange":
        out[Stage.RECEIVED] = StageView(status=done, detail="received before the exchange")
        out[Stage.EXCHANGED] = StageView(status=done, at=now, detail=status)
    return out


def _same(a: Any, b: Any) -> bool:
    """Whether two records are the same (a page answered again)."""
    return isinstance(a, Mapping) and isinstance(b, Mapping) and a == b


def _first(record: Any, names: Sequence[str]) -> Any:
    if not isinstance(record, Mapping):
        return None
    for name in names:
        if name in record and record[name] not in (None, ""):
            return record[name]
    return None


def _text(value: Any) -> str | None:
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)  # THG shows some ZigZag ids as integers (§3.5)
    return value.strip() if isinstance(value, str) and value.strip() else None


def _number(value: Any) -> Decimal | None:
    if isinstance(value, bool):
        return None
    try:
        found = Decimal(str(value)) if isinstance(value, int | float | str | Decimal) else None
    except InvalidOperation:
        return None
    # a quantity of a return line: finite, and short of what no return holds
    return found if found is not None and found.is_finite() and abs(found) < 10**9 else None


def _moment(value: Any) -> datetime | None:
    """ISO 8601, extended or basic (§3.5), UTC where no offset is given (U16)."""
    if not isinstance(value, str):
        return None
    found = _BASIC.match(value.strip())
    if not found:
        return None
    y, mo, d, h, mi, s, frac, zone = found.groups()
    zone = "+00:00" if zone in (None, "Z") else (zone if ":" in zone else
                                                 f"{zone[:3]}:{zone[3:]}")
    try:
        return datetime.fromisoformat(f"{y}-{mo}-{d}T{h}:{mi}:{s}{frac or ''}{zone}"
                                      ).astimezone(UTC)
    except ValueError:
        return None


def _error_text(response: httpx.Response) -> str | None:
    """The first of `message`, `Message`, `error`, `title`, `detail`, `errors` (U22)."""
    body = json_or_none(response)
    if isinstance(body, Mapping):
        for key in ("message", "Message", "error", "title", "detail", "errors"):
            if body.get(key):
                return str(body[key])[:300]
    text = (response.text or "").strip().replace("\n", " ")
    return text[:200] or None
