"""Capture and replay: what a tenant's APIs answered, kept on disk and reconciled offline.

`capture` reads a profile's two systems in full through a recording HTTP transport and
writes every exchange to a folder: a support engineer attaches it to a ticket, a consultant
demos a client's shape without a connection, and each capture can become a regression case.
`check --replay` / `open --replay` serve the same answers back through the same connectors.

What never reaches the folder (README, "Capture and replay"):
- secrets: `Authorization`, `x-api-key`, cookies and every header or query parameter named
  like a credential are dropped; token requests keep no body and token answers no token;
  every value of the profile's own secrets is cut out of anything left;
- personal data: values under keys that name a person, an address, an email or a phone
  number (`customer_name`, `sellToCustomerName`, `billToAddressLine1`, `email`, ...) are
  replaced by pseudonyms derived from the value, so the same email is the same pseudonym in
  both systems and customers still match.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode

import httpx

from ..config import Profile, any_secrets, listen_secrets
from ..connectors import loop as loops
from ..errors import UserError

FORMAT = "returns-console/capture@1"
MANIFEST, EXCHANGES, MAPPINGS = "manifest.json", "exchanges.jsonl", "mappings.json"

#: Headers and query parameters that carry credentials (lower case).
_SECRET_NAMES = re.compile(r"(authorization|api[-_]?key|apikey|token|secret|password|cookie|"
                           r"signature|sig$)", re.IGNORECASE)
#: Keys whose values identify a person (compared without case, `_` and `-`).
_PERSONAL = re.compile(r"(email|phone|name$|contact|address|city|county|state$|postcode|"
                       r"postalcode|zip|nationalid|ipaddress)")
#: Keys ending in `name` that name things, not people.
_THINGS = frozenset({"productname", "variantname", "displayname", "storename", "name2",
                     "displayname2", "shippingcarriername", "itemname", "tagname",
                     "companyname", "taxtitle", "typename", "reasonname", "statename",
                     "carriername", "labelname", "filename", "description",
                     "ordername", "shopifyordername", "originalordername", "servicename"})
#: Things inside query values that move with the clock (dates the connector computes).
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}(T[0-9:.]+(Z|[+-]\d{2}:?\d{2})?)?")
_TEXT_TYPES = ("json", "text", "xml", "x-www-form-urlencoded")


def pseudonym(value: str) -> str:
    """The same value, the same stand-in (emails stay emails, matched without case)."""
    digest = hashlib.sha256(value.strip().casefold().encode()).hexdigest()[:10]
    return f"person-{digest}@example.invalid" if "@" in value else f"redacted-{digest}"


def _personal(key: str) -> bool:
    folded = key.replace("_", "").replace("-", "").casefold()
    return bool(_PERSONAL.search(folded)) and folded not in _THINGS and not folded.endswith(
        ("id", "code", "number"))


def redact_personal(data: Any, personal: bool = False) -> Any:
    """JSON with every person's name, address, email and phone number pseudonymised."""
    if isinstance(data, dict):
        # A record with an email is a party (a customer, a contact): its display name is
        # a person's name too.
        party = any(isinstance(k, str) and "email" in k.casefold() for k in data)
        return {k: redact_personal(v, personal or (isinstance(k, str) and (
            _personal(k) or (party and k.casefold() in ("displayname", "name")))))
                for k, v in data.items()}
    if isinstance(data, list):
        return [redact_personal(v, personal) for v in data]
    if personal and isinstance(data, str) and data.strip():
        return pseudonym(data)
    return data


class Scrubber:
    """Cuts the profile's secret values (and bearer tokens seen) out of text."""

    def __init__(self, secrets: Iterable[str]) -> None:
        self.secrets = sorted({s for s in secrets if s and len(s) >= 4}, key=len, reverse=True)

    def text(self, text: str) -> str:
        for secret in self.secrets:
            text = text.replace(secret, "[redacted]")
        text = _SIGNED_LINK.sub(r"\1=[redacted]", text)  # a signed link is a credential
        return re.sub(r"(Bearer|Basic)\s+[A-Za-z0-9._~+/=-]+", r"\1 [redacted]", text)


#: The query values that make a storage link signed (a bulk export's file, valid a week).
_SIGNED_LINK = re.compile(r"(?i)\b(X-Goog-Signature|X-Goog-Credential|X-Amz-Signature|"
                          r"X-Amz-Credential|X-Amz-Security-Token|Signature)=[^&\"\s\\]+")


def _query(url: httpx.URL, scrub: Scrubber) -> list[tuple[str, str]]:
    return [(k, "[redacted]" if _SECRET_NAMES.search(k) else scrub.text(v))
            for k, v in parse_qsl(url.query.decode(), keep_blank_values=True)]


def _match_query(pairs: list[tuple[str, str]]) -> str:
    """The query as replay matches it: dates the connector derives from the clock aside."""
    return urlencode(sorted((k, _DATE.sub("<date>", v)) for k, v in pairs))


def _is_text(headers: httpx.Headers) -> bool:
    kind = headers.get("content-type", "").lower()
    return not kind or any(t in kind for t in _TEXT_TYPES)


def _body_out(content: bytes, headers: httpx.Headers, scrub: Scrubber) -> dict[str, Any]:
    """A body as kept: JSON redacted of personal data, other text scrubbed, binary as is."""
    if not content:
        return {}
    if "json" in headers.get("content-type", "").lower() or content[:1] in (b"{", b"["):
        try:
            parsed = json.loads(content)
        except ValueError:
            pass
        else:
            parsed = _without_tokens(redact_personal(parsed))
            return {"json": json.loads(scrub.text(json.dumps(parsed)))}
    if "jsonl" in headers.get("content-type", "").lower() or "ndjson" in headers.get(
            "content-type", "").lower():
        return {"text": "\n".join(_line_out(line, scrub)
                                  for line in content.decode("utf-8", "replace").splitlines())}
    if _is_text(headers):
        return {"text": scrub.text(content.decode("utf-8", "replace"))}
    return {"base64": base64.b64encode(content).decode()}


def _line_out(line: str, scrub: Scrubber) -> str:
    """One line of JSON Lines (a bulk export) as kept: redacted like any JSON body."""
    try:
        parsed = json.loads(line)
    except ValueError:
        return scrub.text(line)
    return scrub.text(json.dumps(_without_tokens(redact_personal(parsed))))


def _without_tokens(data: Any) -> Any:
    if isinstance(data, dict):
        return {k: "[redacted]" if isinstance(k, str) and k.casefold() in (
            "access_token", "refresh_token", "id_token") else _without_tokens(v)
            for k, v in data.items()}
    if isinstance(data, list):
        return [_without_tokens(v) for v in data]
    return data


def _token_request(request: httpx.Request) -> bool:
    return "x-www-form-urlencoded" in request.headers.get("content-type", "") and (
        b"grant_type" in request.content or b"client_secret" in request.content)


def _request_key(method: str, path: str, query: str, body: bytes | None) -> str:
    digest = hashlib.sha256(body).hexdigest()[:16] if body else ""
    return f"{method} {path}?{query}#{digest}"


def _match_body(request: httpx.Request, scrub: Scrubber) -> bytes | None:
    """What of a request body replay matches on: JSON bodies ($batch), never credentials."""
    if _token_request(request) or not request.content:
        return None
    if "json" not in request.headers.get("content-type", "").lower():
        return None
    try:
        parsed = json.loads(request.content)
    except ValueError:
        return scrub.text(request.content.decode("utf-8", "replace")).encode()
    text = _DATE.sub("<date>", scrub.text(json.dumps(redact_personal(parsed), sort_keys=True)))
    return text.encode()


_HOP = frozenset({"content-encoding", "content-length", "transfer-encoding", "connection",
                  "set-cookie"})


class RecordingTransport(httpx.AsyncBaseTransport):
    """Passes every request on, and keeps the exchange (redacted) for the capture."""

    def __init__(self, scrub: Scrubber, inner: httpx.AsyncBaseTransport | None = None) -> None:
        self.inner = inner or httpx.AsyncHTTPTransport()
        self.scrub = scrub
        self.exchanges: list[dict[str, Any]] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self.inner.handle_async_request(request)
        wire = httpx.Response(response.status_code, headers=response.headers,
                              stream=response.stream, request=request)
        content = await wire.aread()  # decoded (gzip and the like undone)
        await response.aclose()
        headers = [(k, v) for k, v in wire.headers.items() if k.lower() not in _HOP]
        query = _query(request.url, self.scrub)
        body = _match_body(request, self.scrub)
        self.exchanges.append({
            "method": request.method, "url": f"{request.url.scheme}://{request.url.host}"
            f"{':' + str(request.url.port) if request.url.port else ''}{request.url.path}",
            "query": query,
            "key": _request_key(request.method, request.url.path, _match_query(query), body),
            "status": wire.status_code,
            "headers": [(k, "[redacted]" if _SECRET_NAMES.search(k) else self.scrub.text(v))
                        for k, v in headers],
            "body": _body_out(content, wire.headers, self.scrub),
        })
        return httpx.Response(wire.status_code, headers=headers, content=content,
                              request=request)

    async def aclose(self) -> None:
        await self.inner.aclose()


class ReplayTransport(httpx.AsyncBaseTransport):
    """Answers each request with what the capture recorded for it (in order, the last one
    again once they run out); a request the capture never saw is a 404 saying so."""

    def __init__(self, exchanges: list[dict[str, Any]]) -> None:
        self.by_key: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for exchange in exchanges:
            self.by_key[exchange["key"]].append(exchange)
        self.served: dict[str, int] = defaultdict(int)
        self.scrub = Scrubber(())
        self.missed: list[str] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        query = _query(request.url, self.scrub)
        key = _request_key(request.method, request.url.path, _match_query(query),
                           _match_body(request, self.scrub))
        found = self.by_key.get(key)
        if not found:
            self.missed.append(key)
            return httpx.Response(404, json={"error": {
                "code": "NotCaptured", "message": f"the capture holds no answer to "
                f"{request.method} {request.url.path}"}}, request=request)
        n = self.served[key]
        self.served[key] += 1
        exchange = found[min(n, len(found) - 1)]
        body = exchange.get("body") or {}
        if "json" in body:
            content = json.dumps(body["json"]).encode()
        elif "text" in body:
            content = body["text"].encode()
        elif "base64" in body:
            content = base64.b64decode(body["base64"])
        else:
            content = b""
        return httpx.Response(exchange["status"], headers=exchange["headers"], content=content,
                              request=request)


@dataclass(slots=True)
class Capture:
    """A capture folder, read back."""

    profile: Profile
    captured_at: datetime
    exchanges: list[dict[str, Any]]
    mappings: dict[str, Any] = field(default_factory=dict)


def profile_secrets(profile: Profile, lookup) -> list[str]:
    """Every secret value the profile's systems use, to cut out of what is kept."""
    out = []
    for settings in (profile.platform, profile.erp):
        for name in (*any_secrets(settings.system), *listen_secrets(settings.system)):
            try:
                value = lookup(settings.system, name)
            except Exception:
                value = None
            if value:
                out.append(value.strip())
    return out


def write_capture(folder: Path, profile: Profile, exchanges: list[dict[str, Any]],
                  mappings: dict[str, Any], captured_at: datetime) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    manifest = {
        "format": FORMAT, "captured_at": captured_at.isoformat().replace("+00:00", "Z"),
        "profile": profile.model_dump(mode="json"), "exchanges": len(exchanges),
        "redacted": "secrets removed; names, addresses, emails and phone numbers "
                    "pseudonymised (same value, same pseudonym)",
    }
    (folder / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    with (folder / EXCHANGES).open("w", encoding="utf-8") as out:
        for exchange in exchanges:
            out.write(json.dumps(exchange, sort_keys=True) + "\n")
    (folder / MAPPINGS).write_text(json.dumps(mappings, indent=2, sort_keys=True) + "\n",
                                   encoding="utf-8")


def read_capture(folder: Path) -> Capture:
    try:
        manifest = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
        lines = (folder / EXCHANGES).read_text(encoding="utf-8").splitlines()
        exchanges = [json.loads(line) for line in lines if line.strip()]
        mappings_file = folder / MAPPINGS
        mappings = json.loads(mappings_file.read_text(encoding="utf-8")) \
            if mappings_file.exists() else {}
    except FileNotFoundError as exc:
        raise UserError(f"{folder} is not a capture: {Path(exc.filename).name} is missing "
                        "(make one with `returns-console capture --profile NAME --out DIR`)"
                        ) from None
    except (OSError, ValueError) as exc:
        raise UserError(f"cannot read the capture in {folder}: {exc}") from None
    if manifest.get("format") != FORMAT:
        raise UserError(f"{folder / MANIFEST} is not a {FORMAT} manifest")
    captured = datetime.fromisoformat(manifest["captured_at"].replace("Z", "+00:00"))
    return Capture(Profile.model_validate(manifest["profile"]), captured.astimezone(UTC),
                   exchanges, mappings)


async def capture_profile(profile: Profile, lookup, folder: Path,
                          mappings: dict[str, Any]) -> int:
    """Read both systems in full through the recorder and write the capture; returns the
    number of exchanges kept. A source that fails is captured failing (its answers too)."""
    from .live import fetch_live

    recorder = RecordingTransport(Scrubber(profile_secrets(profile, lookup)))
    captured_at = datetime.now(UTC)
    try:
        await fetch_live(profile, lookup, cache=None, transport=recorder, full=True)
    finally:
        await recorder.aclose()
        write_capture(folder, profile, recorder.exchanges, mappings, captured_at)
    return len(recorder.exchanges)


def replay_report(folder: Path, *, now: datetime | None = None, workers: int = 1):
    """The check, reconciled from a capture through the same connectors (as of the moment
    it was captured unless `now` says otherwise)."""
    from ..domain.reference import Mappings
    from .live import fetch_live, live_report

    capture = read_capture(folder)
    transport = ReplayTransport(capture.exchanges)
    data = loops.run(fetch_live(capture.profile, lambda system, name: "replayed",
                                cache=None, transport=transport, full=True))
    return live_report(capture.profile, data, Mappings.model_validate(capture.mappings),
                       now=now or capture.captured_at, workers=workers)
