"""A page costs the same whatever the sandbox holds (a benchmark must time the client, not
the simulator), and answers exactly what filtering every record at every request did.

Cost is counted, not timed: the OData engine's `WORK` (records a filter or a field lookup
looked at, records put on pages), page by page, at two sizes ten times apart."""

from __future__ import annotations

import random
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from returns_console.kits.odata import server as odata
from returns_console.kits.odata.server import (
    WORK,
    ODataError,
    decode_skiptoken,
    encode_skiptoken,
    filter_fields,
    fingerprint,
    matches,
    max_page_size,
    next_link,
    parse_filter,
    shape,
    split_list,
    track,
)
from returns_console.sandbox.demo import Sandbox, build_sandbox
from returns_console.systems.d365_bc.simulator import (
    DEMO_CLIENT_ID,
    DEMO_CLIENT_SECRET,
    DEMO_ENVIRONMENT,
    DEMO_TENANT,
    SCOPE,
)
from returns_console.systems.swap.simulator import DEMO_API_KEY, DEMO_STORE

NOW = datetime.now(UTC).replace(microsecond=0)
SIZES = (60, 600)
PAGE = 10
PAGES = 4
API = f"/d365_bc/v2.0/{DEMO_TENANT}/{DEMO_ENVIRONMENT}/api/v2.0"


@pytest.fixture(scope="module")
def boxes() -> dict[int, Sandbox]:
    return {n: build_sandbox(NOW, returns=n) for n in SIZES}


async def _client(box: Sandbox) -> tuple[httpx.AsyncClient, str]:
    http = httpx.AsyncClient(transport=httpx.ASGITransport(app=box.app()),
                             base_url="http://sandbox.test")
    token = (await http.post(f"/d365_bc/{DEMO_TENANT}/oauth2/v2.0/token", data={
        "grant_type": "client_credentials", "client_id": DEMO_CLIENT_ID,
        "client_secret": DEMO_CLIENT_SECRET, "scope": SCOPE})).json()["access_token"]
    http.headers.update({"Authorization": f"Bearer {token}",
                         "Prefer": f"odata.maxpagesize={PAGE}"})
    return http, f"{API}/companies({box.erp.data.company['id']})"


async def _chain(http: httpx.AsyncClient, url: str, params: dict[str, str],
                 pages: int = PAGES) -> list[tuple[int, int]]:
    """(records examined, records shaped) for each of the first `pages` pages."""
    costs = []
    link: str | None = None
    for _ in range(pages):
        WORK.reset()
        response = await (http.get(link) if link else http.get(url, params=params))
        assert response.status_code == 200, response.text
        costs.append((WORK.examined, WORK.shaped))
        link = response.json().get("@odata.nextLink")
        assert link, "the chain ends too soon for this test"
    return costs


def _since(box: Sandbox, days: int) -> str:
    return (NOW - timedelta(days=days)).strftime("%Y-%m-%dT%H:%M:%SZ")


async def _bc_costs(box: Sandbox) -> dict[str, list[tuple[int, int]]]:
    http, company = await _client(box)
    try:
        return {
            "memos": await _chain(http, f"{company}/salesCreditMemos",
                                  {"$expand": "salesCreditMemoLines"}),
            "invoices selected": await _chain(http, f"{company}/salesInvoices",
                                              {"$select": "id,number,postingDate"}),
            "changed since": await _chain(http, f"{company}/salesCreditMemos", {
                "$filter": "lastModifiedDateTime gt 2000-01-01T00:00:00Z",
                "$select": "id,number,lastModifiedDateTime"}),
            "lines": await _chain(http, f"{company}/salesCreditMemoLines", {}),
        }
    finally:
        await http.aclose()


async def test_a_business_central_page_costs_the_same_at_ten_times_the_size(boxes) -> None:
    small, large = [await _bc_costs(boxes[n]) for n in SIZES]
    for name in small:
        assert all(shaped == PAGE for _, shaped in small[name] + large[name]), name
        # after the first page of a chain, a page looks at no more records than it returns
        # (plus the one that says whether there is a next page), however many there are
        assert small[name][1:] == large[name][1:], name
        assert all(examined <= PAGE + 1 for examined, _ in large[name][1:]), name
    # a chain without a filter costs its page from the first page on
    assert small["memos"][0] == large["memos"][0] == (0, PAGE)
    assert small["invoices selected"][0] == large["invoices selected"][0]


async def test_an_edit_does_not_make_the_next_page_read_everything_again(boxes) -> None:
    costs = []
    for n in SIZES:
        box = boxes[n]
        http, company = await _client(box)
        try:
            params = {"$filter": "lastModifiedDateTime gt 2000-01-01T00:00:00Z"}
            await _chain(http, f"{company}/salesCreditMemos", params, pages=1)
            memo = box.erp.data.sets["salesCreditMemos"][n // 2]
            box.erp.data.update("salesCreditMemos", memo["id"], at=NOW + timedelta(hours=1))
            costs.append(await _chain(http, f"{company}/salesCreditMemos", params, pages=2))
        finally:
            await http.aclose()
    assert costs[0] == costs[1]
    assert all(examined <= PAGE + 2 for examined, _ in costs[1])


def _ids_filter(box: Sandbox, entity_set: str, picks: Iterable[int]) -> str:
    rows = box.erp.data.sets[entity_set]
    return " or ".join(f"id eq {rows[n]['id']}" for n in picks)


async def test_records_asked_for_by_id_cost_what_they_are_not_the_total(boxes) -> None:
    """A refresh asks for invoices by id, 20 to a request (`id eq a or id eq b ...`): after
    the first such request has read the id column, a request costs the records it names,
    before and after an edit, at either size."""
    costs = []
    for n in SIZES:
        box = boxes[n]
        http, company = await _client(box)
        url = f"{company}/salesInvoices"
        count = len(box.erp.data.sets["salesInvoices"])
        try:
            seen = []
            for picks in ([0, 1], [2, count - 1, count // 2], [3, 4, 5, 6]):
                WORK.reset()
                got = await http.get(url, params={"$filter": _ids_filter(
                    box, "salesInvoices", picks)})
                assert got.status_code == 200, got.text
                assert len(got.json()["value"]) == len(set(picks))
                seen.append(WORK.examined)
            invoice = box.erp.data.sets["salesInvoices"][count // 3]
            box.erp.data.update("salesInvoices", invoice["id"], at=NOW + timedelta(hours=1))
            WORK.reset()
            got = await http.get(url, params={"$filter": _ids_filter(
                box, "salesInvoices", [count // 3, 7])})
            assert [r["id"] for r in got.json()["value"]] == sorted(
                [invoice["id"], box.erp.data.sets["salesInvoices"][7]["id"]],
                key=lambda i: [r["id"] for r in box.erp.data.sets["salesInvoices"]].index(i))
            seen.append(WORK.examined)
        finally:
            await http.aclose()
        costs.append(seen)
    # the column and its index are kept, patched by the edit (which only makes the next
    # request look again at whether the set has the field: one record)
    assert costs[0][1:] == costs[1][1:]
    assert all(examined <= 1 for examined in costs[1][1:])


async def _swap_costs(box: Sandbox, params: dict[str, Any]) -> list[tuple[int, int, int]]:
    transport = httpx.ASGITransport(app=box.app())
    out = []
    async with httpx.AsyncClient(transport=transport, base_url="http://sandbox.test") as http:
        for page in range(1, PAGES + 1):
            WORK.reset()
            response = await http.get("/swap/v2/external/returns", params={
                "swap_store_id": DEMO_STORE, "items_per_page": PAGE, "page": page, **params},
                headers={"x-api-key": DEMO_API_KEY})
            assert response.status_code == 200
            out.append((WORK.examined, WORK.shaped, len(response.json()["returns"])))
    return out


async def test_a_swap_page_costs_the_same_at_ten_times_the_size(boxes) -> None:
    for params in ({}, {"from_return_submission_date": _since(boxes[60], 3000)},
                   {"last_RMA_updated_date": "2000-01-01T00:00:00Z"}):
        small, large = [await _swap_costs(boxes[n], params) for n in SIZES]
        assert small[1:] == large[1:] == [(0, PAGE, PAGE)] * (PAGES - 1), params
        if not params:
            assert small[0] == large[0] == (0, PAGE, PAGE)


# -- the same answers as filtering everything, every time ---------------------------------


def reference_query(records: Sequence[Mapping[str, Any]], params: Sequence[tuple[str, str]],
                    *, base_url: str, prefer: str | None, navigations: Iterable[str] = (),
                    unknown_property: Callable[[str], ODataError]) -> odata.Page:
    """`query` as it was: every record filtered, then sliced, at every request."""
    q = dict(params)
    navs = set(navigations)
    known = set().union(*(r.keys() for r in records)) if records else set()
    expand = split_list(q.get("$expand"))
    for name in expand:
        if name not in navs:
            raise unknown_property(name)
    select = split_list(q.get("$select"))
    for name in select:
        if name in navs or (records and name not in known):
            raise unknown_property(name)
    rows: Any = records
    if q.get("$filter") is not None:
        node = parse_filter(q["$filter"])
        for name in sorted(filter_fields(node)):
            if records and name not in known:
                raise unknown_property(name)
        rows = [r for r in records if matches(node, r)]
    rows = list(rows)
    for option in ("$skip", "$top"):
        if option in q:
            try:
                n = int(q[option])
            except ValueError:
                raise odata._bad(f"Invalid value '{q[option]}' for {option} query option."
                                 ) from None
            if n < 0:
                raise odata._bad(f"Invalid value '{q[option]}' for {option} query option.")
            rows = rows[n:] if option == "$skip" else rows[:n]
    size, applied = max_page_size(prefer)
    fp = fingerprint(params)
    offset = decode_skiptoken(q["$skiptoken"], fp) if "$skiptoken" in q else 0
    chosen = rows[offset:offset + size]
    link = None
    if offset + size < len(rows):
        link = next_link(base_url, params, encode_skiptoken(offset + size, fp))
    shaped = [shape(r, select=select, expand=expand, navigations=navs) for r in chosen]
    return odata.Page(rows=shaped, next_link=link, page_size=size, applied=applied)


def _record(rng: random.Random, n: int) -> dict[str, Any]:
    at = datetime(2026, 1, 1, tzinfo=UTC) + timedelta(hours=rng.randrange(500))
    return {"id": f"00000000-0000-4000-8000-{n:012d}", "number": f"N{rng.randrange(40):03d}",
            "amount": rng.choice([0, 1, 2.5, 10, -3]), "status": rng.choice(["Open", "Paid"]),
            "posted": rng.choice([True, False]), "day": at.date().isoformat(),
            "at": at.isoformat().replace("+00:00", "Z"),
            "lines": [{"q": rng.randrange(3)} for _ in range(rng.randrange(3))]}


FILTERS = [None, "at gt 2026-01-10T00:00:00Z", "at le 2026-01-05T12:00:00.5+01:00",
           "day ge 2026-01-08", "amount gt 1", "amount eq 0 or status eq 'Paid'",
           "(posted eq true and amount ne 10) or number eq 'N001'", "number eq null",
           "status eq 'Paid' and at gt 2026-01-15T00:00:00Z", "id eq "
           "00000000-0000-4000-8000-000000000007", "number ne 'N003' and day lt 2026-01-12",
           "at gt 'x'", "amount eq 'x'", "nothere eq 1", "status gt 3",
           # chains of eq on one field (records asked for by key): answered from an index
           "id eq 00000000-0000-4000-8000-000000000007 or id eq "
           "00000000-0000-4000-8000-000000000002 or id eq 00000000-0000-4000-8000-000000000007",
           "number eq 'N001' or number eq 'N002' or number eq 'N039'",
           "amount eq 0 or amount eq 2.5 or amount eq -3",
           "at eq 2026-01-05T12:00:00Z or at eq 2026-01-03T01:00:00+01:00",
           "day eq 2026-01-08 or day eq 2026-01-09", "posted eq true or posted eq false",
           "number eq 'N001' or number eq 3", "number eq 'N001' or status eq 'Paid'",
           "(number eq 'N001' or number eq 'N002') and posted eq true"]


def _answer(fn: Callable[..., odata.Page], records: Any, params: list[tuple[str, str]],
            prefer: str) -> Any:
    try:
        page = fn(records, params, base_url="http://x/set", prefer=prefer,
                  navigations=("lines",), unknown_property=lambda n: ODataError(400, "U", n))
    except ODataError as exc:
        return ("error", exc.status, exc.code, exc.message)
    return (page.rows, page.next_link, page.page_size, page.applied)


def _walk(fn: Callable[..., odata.Page], records: Any, params: list[tuple[str, str]],
          prefer: str, mutate: Callable[[int], None]) -> list[Any]:
    """Every page of a chain (the data changing between pages as `mutate` says)."""
    out, step = [], 0
    while True:
        got = _answer(fn, records, params, prefer)
        out.append(got)
        if got[0] == "error" or not got[1]:
            return out
        mutate(step)
        step += 1
        token = got[1].rsplit("$skiptoken=", 1)[1]
        params = [*[p for p in params if p[0] != "$skiptoken"], ("$skiptoken", token)]


@pytest.mark.parametrize("seed", range(6))
def test_pages_are_those_of_filtering_everything(seed: int) -> None:
    rng = random.Random(seed)
    plain = [_record(rng, n) for n in range(rng.choice([0, 1, 7, 40, 90]))]
    tracked = track([dict(r, lines=[dict(x) for x in r["lines"]]) for r in plain])
    if seed == 5 and plain:  # a stored value no literal compares with
        plain[3 % len(plain)]["at"] = tracked[3 % len(plain)]["at"] = "soon"
    for text in FILTERS:
        for extra in ([], [("$skip", "3")], [("$top", "12")], [("$skip", "2"), ("$top", "9")],
                      [("$select", "id,at")], [("$top", "-1")], [("$select", "lines")]):
            params = ([("$filter", text)] if text else []) + extra
            prefer = f"odata.maxpagesize={rng.choice([1, 4, 25])}"
            changes = rng.random() < 0.5

            def mutate(step: int, records: list[dict[str, Any]], changes: bool = changes,
                       moment: str = "2026-02-01T00:00:00Z") -> None:
                if not changes or not records:
                    return
                k = (step * 7 + seed) % len(records)
                if step % 4 == 0:
                    records[k] = {**records[k], "at": moment, "amount": 5}
                elif step % 4 == 1:
                    records[k]["status"] = "Paid" if records[k]["status"] == "Open" else "Open"
                elif step % 4 == 2:
                    records.append({**records[k], "id": f"new-{step}", "number": "N001"})
                else:
                    del records[k]

            want = _walk(reference_query, plain, params, prefer, lambda s: mutate(s, plain))
            got = _walk(odata.query, tracked, params, prefer, lambda s: mutate(s, tracked))
            assert got == want, (text, extra, prefer)
            assert tracked == plain
