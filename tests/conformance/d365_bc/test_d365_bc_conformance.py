"""Business Central conformance: documented API v2.0 responses through the connector.

Each case in cases/*.json gives the entity sets of one company as BC sends them (`sets`:
entity set name → records, served as OData `{"value": [...]}`), which sets the tenant lacks
(`absent`: answered 404 with BC's error body), sets that fail (`errors`: set → status and
body), and what `fetch_records()` must make of it (`expect`, paths into the ErpBatch:
`views.<link>...`, `master...`, `problems...`, `notices`) or the error it must raise
(`raises`). Optional: `companies` (the environment's companies; default one, "Harbour Ltd"),
`other_company_sets` (what any other company holds), `page_size` (serve pages of this many
records, chained by `@odata.nextLink`). See tests/conformance/checker.py.
"""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from returns_console.connectors import errors
from returns_console.connectors.http import RetryPolicy
from returns_console.systems.d365_bc.connector import BcSettings, BusinessCentralConnector
from tests.conformance.checker import check, check_citation, load_cases, variants

CASES = load_cases(Path(__file__).parent / "cases")
BASE = "http://bc.test"
ROOT = f"{BASE}/v2.0/t/e/api/v2.0"
HARBOUR = {"id": "5f1c2b0e-7a3d-4c8e-9b21-0d6f4e8a1c01", "systemVersion": "25.1.0.0",
           "name": "Harbour Ltd", "displayName": "Harbour Ltd", "businessProfileId": ""}
#: Nested line collections, sent only when `$expand` asks for them.
LINE_SETS = ("salesCreditMemoLines", "salesReturnOrderLines", "salesOrderLines",
             "salesInvoiceLines")
COLLECTION = re.compile(r"^/v2\.0/t/e/api/v2\.0/companies\(([^)]+)\)/([A-Za-z]+)$")
FAST = RetryPolicy(attempts=2, initial=0.0, maximum=0.0, jitter=0.0)


def bc_error(status: int, code: str, message: str) -> httpx.Response:
    """BC's documented error body: {"error": {"code", "message  CorrelationId:  <guid>."}}."""
    return httpx.Response(status, json={"error": {
        "code": code,
        "message": f"{message}  CorrelationId:  8d2f6a41-93c7-4b0e-a5d2-61f0c9e7b3aa."}})


class FakeBc:
    """Serves one case: token, companies, entity sets (paged, expanded as asked)."""

    def __init__(self, data: dict) -> None:
        self.data = data
        self.companies = data.get("companies") or [HARBOUR]
        self.unserved: list[str] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        url = urlsplit(str(request.url))
        query = parse_qs(url.query)
        if request.method == "POST" and url.path == "/t/oauth2/v2.0/token":
            return httpx.Response(200, json={"access_token": "conformance-token",
                                             "token_type": "Bearer", "expires_in": 3599})
        if request.headers.get("Authorization") != "Bearer conformance-token":
            return bc_error(401, "Authentication_InvalidCredentials",
                            "The server has rejected the client credentials.")
        if request.method == "POST" and url.path == "/v2.0/t/e/api/v2.0/$batch":
            return self.batch(request)
        if request.method == "GET" and url.path == "/v2.0/t/e/api/v2.0/companies":
            return httpx.Response(200, json={"@odata.context": f"{ROOT}/$metadata#companies",
                                             "value": self.companies})
        found = COLLECTION.match(url.path)
        if request.method != "GET" or not found:
            self.unserved.append(f"{request.method} {request.url}")
            return bc_error(404, "BadRequest_NotFound", "Resource not found for the segment.")
        company, name = found.groups()
        failing = (self.data.get("errors") or {}).get(name)
        if failing:
            return httpx.Response(failing["status"], json=failing["body"])
        if name in (self.data.get("absent") or ()):
            return bc_error(404, "BadRequest_NotFound",
                            f"Resource not found for the segment '{name}'.")
        harbour = company == self.companies_id("Harbour Ltd")
        sets = self.data.get("sets") if harbour else self.data.get("other_company_sets")
        records = copy.deepcopy((sets or {}).get(name, []))
        expand = ",".join(query.get("$expand", []))
        for record in records:
            for lines in LINE_SETS:
                if lines in record and lines not in expand:
                    del record[lines]
        size = self.data.get("page_size")
        skip = int(query.get("$skiptoken", ["0"])[0])
        body = {"@odata.context": f"{ROOT}/$metadata#companies({company})/{name}"}
        if size:
            body["value"] = records[skip:skip + size]
            if skip + size < len(records):
                params = {k: v[0] for k, v in query.items() if k != "$skiptoken"}
                params["$skiptoken"] = str(skip + size)
                body["@odata.nextLink"] = str(httpx.URL(str(request.url).split("?")[0],
                                                        params=params))
        else:
            body["value"] = records
        return httpx.Response(200, content=json.dumps(body).encode(),
                              headers={"content-type": "application/json; odata.metadata=minimal"})

    def batch(self, request: httpx.Request) -> httpx.Response:
        """OData JSON batch: each inner request answered as it would be on its own."""
        replies = []
        for inner in json.loads(request.content)["requests"]:
            target = inner["url"]
            if not target.startswith("http"):
                target = f"{ROOT}/{target.lstrip('/')}"
            headers = {"Authorization": request.headers.get("Authorization", "")}
            answer = self(httpx.Request(inner["method"], target, headers=headers))
            replies.append({"id": inner["id"], "status": answer.status_code,
                            "headers": {"content-type": "application/json; odata.metadata=minimal"},
                            "body": answer.json()})
        return httpx.Response(200, json={"responses": replies})

    def companies_id(self, name: str) -> str | None:
        return next((c["id"] for c in self.companies if c.get("name") == name), None)


def connector_for(fake: FakeBc) -> BusinessCentralConnector:
    settings = BcSettings(base_url=BASE, tenant="t", environment="e", client_id="c",
                          client_secret="s", token_url=f"{BASE}/{{tenant}}/oauth2/v2.0/token",
                          company="Harbour Ltd")
    return BusinessCentralConnector(settings, transport=httpx.MockTransport(fake), retry=FAST)


def test_corpus_is_not_empty() -> None:
    assert len(CASES) >= 10


@pytest.mark.parametrize("case", CASES)
async def test_d365_bc_case(case: dict) -> None:
    check_citation(case)
    failures: list[str] = []
    for name, data, expect in variants(case, "input"):
        fake = FakeBc(data)
        connector = connector_for(fake)
        try:
            if case.get("raises"):
                failures += await _expect_error(connector, case["raises"], name)
                continue
            assert expect, f"{case['_file']} ({name}): no expectations"
            batch = await connector.fetch_records()
        finally:
            await connector.aclose()
        failures += check(batch, expect, name)
        checks_problems = any(k == "problems" or k.startswith("problems.") for k in expect)
        if not checks_problems and batch.problems:
            failures.append(f"{name}: unexpected problems: {batch.problems}")
        failures += [f"{name}: unserved request {r}" for r in fake.unserved]
    assert not failures, "\n".join(failures)


async def _expect_error(connector: BusinessCentralConnector, raises: dict,
                        name: str) -> list[str]:
    kind = getattr(errors, raises["type"])
    try:
        await connector.fetch_records()
    except kind as error:
        failures = []
        for text in raises.get("message_contains", []):
            if text not in str(error):
                failures.append(f"{name}: {text!r} not in error {str(error)!r}")
        if "status" in raises and error.status != raises["status"]:
            failures.append(f"{name}: status {error.status}, expected {raises['status']}")
        return failures
    except Exception as error:  # reported as a failure, not raised
        return [f"{name}: raised {type(error).__name__}: {error}, expected {raises['type']}"]
    return [f"{name}: nothing raised, expected {raises['type']}"]
