"""Independent check of the product's Shopify bulk read (a full read's first step as a bulk
query operation), from Shopify's documentation only.

Sources: shopify.dev/docs/api/usage/bulk-operations/queries (restrictions, the JSONL format,
polling, the result ``url``), the reference pages of BulkOperation, BulkOperationStatus,
bulkOperationRunQuery (``groupObjects``), bulkOperationCancel, BulkOperationUserErrorCode,
ordersCount and the orders query's ``return_status`` filter (OrderReturnStatus NO_RETURN: "No
items in the order were returned"); the same facts restated in docs/vendors/shopify.md §5, §7;
the public report Shopify/shopify-app-js#2710 (an export of orders with their returns accepted
but without the returns). The fake's bulk behaviour is described in fake_shopify's docstring.

What is checked
  * the fake itself (fast, no product): the documented restrictions, the JSONL shape, polling,
    ``url`` null when nothing matched, cancel, OPERATION_IN_PROGRESS, the signed link, and
    ``ordersCount`` with ``-return_status:no_return``;
  * the product's real CLI (``setup`` then ``check``, as test_shopify_netsuite.py runs it) with
    ``--platform-option bulk_full_read=...``, once per case, the planted truth scored:
      - ``never``: the paged read (the baseline);
      - ``always``: precision and recall 1.0; a bulk operation was run, polled to COMPLETED and
        its file downloaded from the link WITHOUT the access token (the link is on another
        server, over TLS, as Shopify's storage links are https on another host);
      - ``always`` and the operation FAILS (a partial file offered at ``partialDataUrl``);
      - ``always`` and Shopify refuses the run with OPERATION_IN_PROGRESS (the app's other
        exports fill the concurrency limit);
      - ``always`` and the export's file lacks every order's returns (#2710; its counts agree
        with the file, so only a count of the orders with a return can tell);
    each of the last three must still score 1.0 with as many returns checked as the paged
    read (the product should fall back to paging), never fewer.

Run:  .venv/bin/python -m pytest tests/independent/shopify_netsuite -q -n 0
      (add ``-s`` to see each run's scoring table and what the fake saw)
"""

from __future__ import annotations

import ipaddress
import json
import os
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from ..harness import Server as _Server
from ..harness import run_cli
from . import fake_netsuite, fake_shopify, scenario
from .test_fakes import _SyncASGI
from .test_shopify_netsuite import (
    CLI_TIMEOUT,
    NS_CERTIFICATES,
    PROFILE,
    _describe,
    _env,
    product_lists_both,
    score,
    setup_args,
    write_mappings,
)

GQL = f"/admin/api/{scenario.API_VERSION}/graphql.json"
HEADERS = {"X-Shopify-Access-Token": scenario.ACCESS_TOKEN}

# what the product is expected to export: the changed orders, their returns and each return's
# lines and exchange lines (four connections, two levels below the top: shopify.md §7)
ORDERS_BULK = """{
  orders(query: "updated_at:>'2026-09-01T00:00:00Z'", sortKey: UPDATED_AT) {
    edges { node { id name updatedAt
      returns { edges { node { id name status
        returnLineItems { edges { node { __typename id quantity
          ... on ReturnLineItem { fulfillmentLineItem { lineItem { sku } } } } } }
        exchangeLineItems { edges { node { id quantity } } } } } } } }
  }
}"""
RUN = """mutation Run($q: String!, $g: Boolean!) {
  bulkOperationRunQuery(query: $q, groupObjects: $g) {
    bulkOperation { id status } userErrors { field message code } } }"""
POLL = """query Poll($id: ID!) { bulkOperation(id: $id) { id status errorCode createdAt
  completedAt objectCount rootObjectCount fileSize url partialDataUrl } }"""


# =============================================================================== the fake
@pytest.fixture(scope="module")
def world() -> scenario.World:
    return scenario.build_world()


def _client(app: Any) -> httpx.Client:
    return httpx.Client(transport=_SyncASGI(app), base_url="http://shop.test")


def _gql(c: httpx.Client, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
    r = c.post(GQL, headers=HEADERS, json={"query": query, "variables": variables or {}})
    assert r.status_code == 200, r.text
    return r.json()


def _run_bulk(c: httpx.Client, query: str, group: bool = False) -> dict[str, Any]:
    return _gql(c, RUN, {"q": query, "g": group})["data"]["bulkOperationRunQuery"]


def _poll_until_done(c: httpx.Client, op_id: str, polls: int = 5) -> list[dict[str, Any]]:
    seen = []
    for _ in range(polls):
        op = _gql(c, POLL, {"id": op_id})["data"]["bulkOperation"]
        seen.append(op)
        if op["status"] not in ("CREATED", "RUNNING", "CANCELING"):
            break
    return seen


def _lines(c: httpx.Client, url: str) -> list[dict[str, Any]]:
    r = c.get(url.replace("http://shop.test", ""))  # no access token: the link is signed
    assert r.status_code == 200, r.text
    return [json.loads(ln) for ln in r.text.splitlines() if ln.strip()]


def test_fake_bulk_query_lifecycle_and_jsonl(world: scenario.World) -> None:
    app = fake_shopify.make_app(world, bucket_max=1e9)
    with _client(app) as c:
        started = _run_bulk(c, ORDERS_BULK)
        assert started["userErrors"] == []
        op = started["bulkOperation"]
        assert op["status"] == "CREATED" and op["id"].startswith("gid://shopify/BulkOperation/")
        seen = _poll_until_done(c, op["id"])
        assert [s["status"] for s in seen] == ["RUNNING", "COMPLETED"]
        done = seen[-1]
        # UnsignedInt64 arrives as a string (doc sample "objectCount":"57")
        for k in ("objectCount", "rootObjectCount", "fileSize"):
            assert isinstance(done[k], str) and done[k].isdigit(), (k, done[k])
        assert done["createdAt"] and done["completedAt"] and done["partialDataUrl"] is None
        # the link is another path, signed; it answers without the token, not with a bad sig
        assert "/_storage/bulk/" in done["url"] and "X-Goog-Signature=" in done["url"]
        raw = c.get(done["url"].replace("http://shop.test", "")).text
        assert "gid:\\/\\/shopify\\/Order\\/" in raw  # escaped slashes: legal JSON
        lines = _lines(c, done["url"])
        bad = c.get(done["url"].replace("http://shop.test", "").rsplit("=", 1)[0] + "=00")
        assert bad.status_code == 403
        rec = app.state.bulk.downloads
        assert rec and not any(d["access_token_header"] for d in rec)

    assert len(lines) == int(done["objectCount"])
    by_id = {ln["id"]: ln for ln in lines}
    roots = [ln for ln in lines if "__parentId" not in ln]
    assert len(roots) == int(done["rootObjectCount"])
    assert all(r["id"].startswith("gid://shopify/Order/") for r in roots)
    # one node per line; nested connections' nodes on their own lines, with __parentId naming
    # the immediate parent; plain objects stay on the node's line
    returns = [ln for ln in lines if ln["id"].startswith("gid://shopify/Return/")]
    rlis = [ln for ln in lines if ln.get("__typename") in ("ReturnLineItem",
                                                           "UnverifiedReturnLineItem")]
    assert returns and rlis
    assert all(by_id[r["__parentId"]]["id"].startswith("gid://shopify/Order/") for r in returns)
    assert all(by_id[x["__parentId"]]["id"].startswith("gid://shopify/Return/") for x in rlis)
    assert all("returns" not in r and "returnLineItems" not in x
               for r in roots for x in returns)
    assert any(x.get("fulfillmentLineItem", {}) and
               x["fulfillmentLineItem"]["lineItem"]["sku"] for x in rlis)
    # every return of the world's changed orders is there, each line once
    want = {rid for g in world.orders for rid in world.nodes[g]["returns"]}
    assert {r["id"] for r in returns} == want
    assert len(by_id) == len(lines)
    # groupObjects false: nothing promised about order, and this fake does not keep it
    pos = {ln["id"]: i for i, ln in enumerate(lines)}
    assert any(pos[ln["__parentId"]] > i for i, ln in enumerate(lines) if "__parentId" in ln)


def test_fake_bulk_grouped_objects_follow_their_parent(world: scenario.World) -> None:
    app = fake_shopify.make_app(world, bucket_max=1e9)
    with _client(app) as c:
        op = _run_bulk(c, ORDERS_BULK, group=True)["bulkOperation"]
        done = _poll_until_done(c, op["id"])[-1]
        lines = _lines(c, done["url"])
    seen: set[str] = set()
    for ln in lines:
        if "__parentId" in ln:
            assert ln["__parentId"] in seen
        seen.add(ln["id"])


@pytest.mark.parametrize("query, why", [
    ('{ orders { edges { node { id returns { edges { node { id reverseFulfillmentOrders { '
     'edges { node { id lineItems { edges { node { id } } } } } } } } } } } } }',
     "more than two levels"),
    ('{ orders { edges { node { id refunds { id refundLineItems { edges { node { id } } } } } } '
     '} }', "within a list field"),
    ('{ node(id: "gid://shopify/Order/1") { id } }', "'node'"),
    ('{ shop { name } }', "at least one connection"),
    ('{ orders { edges { node { id returns { edges { node { id returnLineItems { edges { node '
     '{ id } } } exchangeLineItems { edges { node { id } } } refunds { edges { node { id } } } '
     'reverseFulfillmentOrders { edges { node { id } } } } } } } } } }', "five connections"),
    ('{ orders { edges { node { id nosuchfield } } } }', "doesn't exist"),
])
def test_fake_bulk_restrictions(world: scenario.World, query: str, why: str) -> None:
    app = fake_shopify.make_app(world, bucket_max=1e9)
    with _client(app) as c:
        out = _run_bulk(c, query)
    assert out["bulkOperation"] is None
    assert out["userErrors"][0]["code"] == "INVALID" and why in out["userErrors"][0]["message"]


def test_fake_bulk_url_null_without_results_and_cancel(world: scenario.World) -> None:
    app = fake_shopify.make_app(world, bucket_max=1e9)
    with _client(app) as c:
        op = _run_bulk(c, '{ orders(query: "name:#999999") { edges { node { id } } } }')
        done = _poll_until_done(c, op["bulkOperation"]["id"])[-1]
        assert done["status"] == "COMPLETED" and done["objectCount"] == "0"
        assert done["url"] is None  # "null when the query produced no results"
        # cancel: a running operation becomes CANCELING then CANCELED; a finished one refuses
        op2 = _run_bulk(c, ORDERS_BULK)["bulkOperation"]
        cancel = ("mutation C($id: ID!) { bulkOperationCancel(id: $id) { bulkOperation { id "
                  "status } userErrors { field message } } }")
        out = _gql(c, cancel, {"id": op2["id"]})["data"]["bulkOperationCancel"]
        assert out["userErrors"] == [] and out["bulkOperation"]["status"] == "CANCELING"
        polled = _gql(c, "query N($id: ID!) { node(id: $id) { ... on BulkOperation { status "
                         "url } } }", {"id": op2["id"]})["data"]["node"]
        assert polled == {"status": "CANCELED", "url": None}
        again = _gql(c, cancel, {"id": op["bulkOperation"]["id"]})
        assert again["data"]["bulkOperationCancel"]["userErrors"]


def test_fake_bulk_faults(world: scenario.World) -> None:
    # OPERATION_IN_PROGRESS: the app's other exports hold every slot
    app = fake_shopify.make_app(world, bucket_max=1e9, bulk_busy=True)
    with _client(app) as c:
        out = _run_bulk(c, ORDERS_BULK)
    assert out["bulkOperation"] is None
    assert out["userErrors"][0]["code"] == "OPERATION_IN_PROGRESS"
    # FAILED: errorCode, no url, a partial file
    app = fake_shopify.make_app(world, bucket_max=1e9, bulk_outcome="FAILED")
    with _client(app) as c:
        op = _run_bulk(c, ORDERS_BULK)["bulkOperation"]
        done = _poll_until_done(c, op["id"])[-1]
        assert done["status"] == "FAILED" and done["errorCode"] == "INTERNAL_SERVER_ERROR"
        assert done["url"] is None and done["partialDataUrl"]
        assert len(_lines(c, done["partialDataUrl"])) == int(done["objectCount"])
    # #2710: the file without the orders' returns, its counts agreeing with it
    app = fake_shopify.make_app(world, bucket_max=1e9, bulk_export_without_nested=True)
    with _client(app) as c:
        op = _run_bulk(c, ORDERS_BULK)["bulkOperation"]
        done = _poll_until_done(c, op["id"])[-1]
        lines = _lines(c, done["url"])
    assert done["status"] == "COMPLETED" and lines
    assert all("__parentId" not in ln for ln in lines)
    assert done["objectCount"] == done["rootObjectCount"] == str(len(lines))


def test_fake_orders_count_with_return_status(world: scenario.World) -> None:
    app = fake_shopify.make_app(world, bucket_max=1e9)
    with _client(app) as c:
        d = _gql(c, '{ all: ordersCount { count precision } '
                    'withReturn: ordersCount(query: "-return_status:no_return") { count } '
                    'notNone: ordersCount(query: "NOT return_status:no_return") { count } '
                    'capped: ordersCount(limit: 3) { count precision } '
                    'nolimit: ordersCount(limit: null) { count precision } }')["data"]
    visible = [world.nodes[g] for g in world.orders]
    assert d["all"] == {"count": len(visible), "precision": "EXACT"}
    with_return = sum(1 for o in visible if o["returnStatus"] != "NO_RETURN")
    assert d["withReturn"]["count"] == d["notNone"]["count"] == with_return
    assert 0 < with_return < len(visible)
    assert d["capped"] == {"count": 3, "precision": "AT_LEAST"}
    assert d["nolimit"]["precision"] == "EXACT"


# ========================================================================= the product
def _tls(dirpath: Path) -> tuple[str, str, str]:
    """A throwaway CA and a certificate for 127.0.0.1 it signs: (ca, cert, key) file paths."""
    now = datetime.now(UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "independent-check test CA")])
    ca = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name)
          .public_key(ca_key.public_key()).serial_number(x509.random_serial_number())
          .not_valid_before(now - timedelta(days=1)).not_valid_after(now + timedelta(days=7))
          .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
          .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                       content_commitment=False, key_encipherment=False,
                                       data_encipherment=False, key_agreement=False,
                                       encipher_only=False, decipher_only=False), critical=True)
          .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()),
                         critical=False)
          .sign(ca_key, hashes.SHA256()))
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")]))
            .issuer_name(ca_name).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(days=1)).not_valid_after(now + timedelta(days=7))
            .add_extension(x509.SubjectAlternativeName([
                x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")]),
                critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]),
                           critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(
                ca_key.public_key()), critical=False)
            .sign(ca_key, hashes.SHA256()))
    paths = dirpath / "ca.pem", dirpath / "cert.pem", dirpath / "key.pem"
    paths[0].write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    paths[1].write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    paths[2].write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return str(paths[0]), str(paths[1]), str(paths[2])


# the order of a planted return (REFUND_AMOUNT_MISMATCH) whose order Shopify counts as having a
# return (returnStatus RETURNED): its returns alone go missing from one export
_ONE_ORDER = "gid://shopify/Order/6600000214"

# name -> (bulk_full_read, the fake's faults, more platform options for setup)
CASES: dict[str, tuple[str, dict[str, Any], list[str]]] = {
    "paged": ("never", {}, []),
    "bulk": ("always", {}, []),
    "bulk_failed": ("always", {"bulk_outcome": "FAILED"}, []),
    "bulk_in_progress": ("always", {"bulk_busy": True}, []),
    "bulk_without_returns": ("always", {"bulk_export_without_nested": True}, []),
    "bulk_one_order_without_returns": (
        "always", {"bulk_export_without_nested": frozenset({_ONE_ORDER})}, []),
    # an export still RUNNING when bulk_max_wait_s (README's option) runs out
    "bulk_never_finishes": ("always", {"bulk_polls": 10**9}, ["bulk_max_wait_s=3"]),
}


def _run_case(world: scenario.World, home: Path, mode: str, fake: dict[str, Any],
              options: list[str] | None = None) -> dict[str, Any]:
    env = _env(home)
    ca, cert, key = _tls(home)
    env["SSL_CERT_FILE"] = ca  # trust the storage server's certificate (and only it)
    env.pop("SSL_CERT_DIR", None)
    shop_app = fake_shopify.make_app(world, bucket_max=20000, restore_rate=1000, **fake)
    ns_app = fake_netsuite.make_app(world, client_id=scenario.NS_CLIENT_ID,
                                    certificates=NS_CERTIFICATES)
    with _Server(shop_app) as shop, _Server(ns_app) as ns, \
            _Server(shop_app, cert, key) as storage:
        # the result links point at the "storage" server: another origin, https
        shop_app.state.bulk.download_base = f"https://127.0.0.1:{storage.port}"
        shop_url = f"http://127.0.0.1:{shop.port}"
        ns_url = f"http://127.0.0.1:{ns.port}"
        extra = [x for o in [f"bulk_full_read={mode}", *(options or [])]
                 for x in ("--platform-option", o)]
        setup = run_cli([*setup_args(shop_url, ns_url), *extra], env, CLI_TIMEOUT)
        assert setup.returncode == 0, f"setup failed:\n{setup.stdout}\n{setup.stderr}"
        write_mappings(env, home, world)
        t0 = time.monotonic()
        check = run_cli(["check", "--profile", PROFILE, "--format", "json", "--now",
                         scenario.NOW_ISO], env, CLI_TIMEOUT)
        elapsed = time.monotonic() - t0
    try:
        doc = json.loads(check.stdout)
    except json.JSONDecodeError:
        doc = None
    bulk = shop_app.state.bulk
    return {"mode": mode, "fake": fake, "options": options, "check": check, "doc": doc,
            "elapsed": elapsed,
            "log": list(shop_app.state.log), "runs": list(bulk.runs),
            "observed": list(bulk.observed), "downloads": list(bulk.downloads),
            "cancels": list(bulk.cancels), "ops": dict(bulk.ops)}


@pytest.fixture(scope="module")
def runs(world: scenario.World, tmp_path_factory: pytest.TempPathFactory
         ) -> Iterator[dict[str, dict[str, Any]]]:
    ok, missing = product_lists_both()
    if not ok:
        pytest.skip(f"the product does not list Shopify and NetSuite as built ({missing})")
    cache: dict[str, dict[str, Any]] = {}

    class Lazy(dict):  # each case's CLI run once, when a test first asks for it
        def __missing__(self, name: str) -> dict[str, Any]:
            mode, fake, options = CASES[name]
            cache[name] = _run_case(scenario.build_world(),
                                    tmp_path_factory.mktemp(f"rc_bulk_{name}"), mode, fake,
                                    options)
            self[name] = cache[name]
            return cache[name]

    yield Lazy()
    dump = os.environ.get("RC_INDEPENDENT_DUMP")
    if dump:
        Path(dump + ".bulk.json").write_text(json.dumps(
            {k: v["doc"] for k, v in cache.items()}, indent=1, default=str))


def _roots(e: dict[str, Any]) -> list[str]:
    return list(e.get("root") or [])


def _paged_order_requests(r: dict[str, Any]) -> int:
    return sum(1 for e in r["log"] if "orders" in _roots(e))


def _orders_counts(r: dict[str, Any]) -> list[str]:
    return [(e.get("query") or "") + " " + json.dumps(e.get("variables") or {})
            for e in r["log"] if "ordersCount" in _roots(e)]


def _report(name: str, r: dict[str, Any], world: scenario.World) -> tuple[str, float, float]:
    check, doc = r["check"], r["doc"]
    lines = [f"== {name}: bulk_full_read={r['mode']} {r['options'] or ''} fake={r['fake']} "
             f"exit {check.returncode}; check took {r['elapsed']:.1f}s"]
    if doc is None:
        lines.append(f"no JSON:\nstdout:\n{check.stdout[:3000]}\nstderr:\n{check.stderr[-3000:]}")
        return "\n".join(lines), 0.0, 0.0
    findings = doc.get("findings", [])
    found_map: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for f in findings:
        found_map.setdefault((f.get("return_ref"), f.get("code")), []).append(f)
    table, precision, recall = score(world.truth, set(found_map))
    lines += [f"platform: {doc.get('platform')}", f"erp: {doc.get('erp')}",
              f"returns_checked={doc.get('returns_checked')} findings={len(findings)}", *table]
    for pair in sorted(set(found_map) - world.truth, key=str):
        for f in found_map[pair]:
            lines.append(f"  FALSE POSITIVE {pair[0]}: {_describe(f)}")
    for pair in sorted(world.truth - set(found_map), key=str):
        lines.append(f"  FALSE NEGATIVE {pair[0]} {pair[1]} -- {world.plant_notes[pair]}")
    lines.append(f"Shopify requests {len(r['log'])}; paged orders requests "
                 f"{_paged_order_requests(r)}; roots seen "
                 f"{sorted({x for e in r['log'] for x in _roots(e)})}")
    for run in r["runs"]:
        lines.append(f"  bulkOperationRunQuery groupObjects={run['groupObjects']} (sent: "
                     f"{run['groupObjects_sent']}) -> {run.get('operation')} "
                     f"{run.get('userErrors') or ''} objects={run.get('objects')}")
        lines.append("    query: " + " ".join(str(run["query"]).split())[:700])
    lines.append(f"  polls (op, status answered): {r['observed']}")
    lines.append(f"  downloads: {r['downloads']}")
    lines.append(f"  cancels: {r['cancels']}")
    lines.append(f"  ordersCount asked: {_orders_counts(r)}")
    if check.stderr.strip():
        lines.append("stderr (tail): " + check.stderr.strip()[-1500:])
    return "\n".join(lines), precision, recall


def _assert_scores(name: str, runs: dict[str, dict[str, Any]],
                   world: scenario.World) -> tuple[dict[str, Any], str]:
    r = runs[name]
    report, precision, recall = _report(name, r, world)
    print("\n" + report)
    doc = r["doc"]
    assert doc is not None, report
    assert doc.get("platform", {}).get("status") == "ok", report
    assert doc.get("erp", {}).get("status") == "ok", report
    assert precision == 1.0 and recall == 1.0, report
    if name != "paged":  # never fewer returns than the paged read
        base = runs["paged"]["doc"]
        assert base is not None
        assert doc.get("returns_checked") == base.get("returns_checked"), (
            f"{name} checked {doc.get('returns_checked')} returns, the paged read "
            f"{base.get('returns_checked')}\n{report}")
    return r, report


def test_paged_read_scores_1(runs: dict[str, dict[str, Any]], world: scenario.World) -> None:
    r, report = _assert_scores("paged", runs, world)
    assert not r["runs"], "bulk_full_read=never must not start a bulk operation\n" + report


def test_bulk_read_scores_1_and_downloads_without_token(
        runs: dict[str, dict[str, Any]], world: scenario.World) -> None:
    r, report = _assert_scores("bulk", runs, world)
    started = [x for x in r["runs"] if x.get("operation")]
    assert started, "no bulk operation was started\n" + report
    assert any(st == "COMPLETED" for op, st in r["observed"]
               if op in {x["operation"] for x in started}), "never polled to COMPLETED\n" + report
    got = [d for d in r["downloads"] if d.get("status") == 200 and not d.get("partial")]
    assert got, "the result file was never downloaded\n" + report
    assert all(d["scheme"] == "https" for d in got)
    assert not any(d["access_token_header"] for d in r["downloads"]), (
        "the result link was fetched WITH the X-Shopify-Access-Token header\n" + report)
    assert not any(d["authorization_header"] for d in r["downloads"]), report
    # the first step (orders, their returns and lines) came from the export, not from pages
    assert _paged_order_requests(r) == 0, (
        "the orders were read page by page as well as exported\n" + report)
    # nothing left running that the product started
    ours = {x["operation"] for x in started}
    assert all(r["ops"][o]["status"] not in ("CREATED", "RUNNING") for o in ours), report


def test_bulk_failed_falls_back_to_paging(runs: dict[str, dict[str, Any]],
                                          world: scenario.World) -> None:
    r, report = _assert_scores("bulk_failed", runs, world)
    assert any(x.get("operation") for x in r["runs"]), "no bulk operation started\n" + report
    assert any(st == "FAILED" for _, st in r["observed"]), "FAILED never seen\n" + report
    assert _paged_order_requests(r) > 0, "no paged read after the FAILED export\n" + report
    assert not any(d["access_token_header"] for d in r["downloads"]), report


def test_bulk_operation_in_progress_falls_back_to_paging(
        runs: dict[str, dict[str, Any]], world: scenario.World) -> None:
    r, report = _assert_scores("bulk_in_progress", runs, world)
    refused = [x for x in r["runs"] if x.get("userErrors")]
    assert refused and refused[0]["userErrors"][0]["code"] == "OPERATION_IN_PROGRESS", report
    assert _paged_order_requests(r) > 0, "no paged read after the refusal\n" + report
    # the app's other exports are not the product's to cancel
    assert not [c for c in r["cancels"] if not c["ours"]], (
        "the product cancelled a bulk operation it did not start\n" + report)


def test_bulk_export_without_returns_falls_back_to_paging(
        runs: dict[str, dict[str, Any]], world: scenario.World) -> None:
    r, report = _assert_scores("bulk_without_returns", runs, world)
    assert any(st == "COMPLETED" for _, st in r["observed"]), report
    assert any(d.get("status") == 200 for d in r["downloads"]), report
    assert not any(d["access_token_header"] for d in r["downloads"]), report
    assert _paged_order_requests(r) > 0, (
        "an export without the orders' returns was used: no paged read followed\n" + report)


def test_bulk_export_missing_one_orders_returns_falls_back_to_paging(
        runs: dict[str, dict[str, Any]], world: scenario.World) -> None:
    """The README: "each export is checked whole against Shopify's count of the orders with a
    return". One order (counted by ``-return_status:no_return``) loses its returns; four
    orders of the world carry only a DECLINED or CANCELED return (returnStatus NO_RETURN)."""
    assert world.nodes[_ONE_ORDER]["returnStatus"] != "NO_RETURN"
    assert any(ref == "#1214-R1" for ref, _ in world.truth)
    r, report = _assert_scores("bulk_one_order_without_returns", runs, world)
    assert any(d.get("status") == 200 for d in r["downloads"]), report
    assert _paged_order_requests(r) > 0, (
        "an export missing one order's returns was used: no paged read followed\n" + report)


def test_bulk_export_that_never_finishes_is_cancelled_and_paged(
        runs: dict[str, dict[str, Any]], world: scenario.World) -> None:
    """README: whatever does not complete within ``bulk_max_wait_s`` is cancelled and read the
    paged way (bulkOperationCancel: "Starts the cancelation process of a running bulk
    operation")."""
    r, report = _assert_scores("bulk_never_finishes", runs, world)
    started = {x["operation"] for x in r["runs"] if x.get("operation")}
    assert started, report
    assert any(c["id"] in started for c in r["cancels"]), (
        "the export left RUNNING was not cancelled\n" + report)
    assert _paged_order_requests(r) > 0, report
    assert not [c for c in r["cancels"] if not c["ours"]], report
