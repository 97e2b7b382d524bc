"""Independent check of the product's Shopify webhooks ("hints"), from Shopify's documentation.

The product's real CLI runs against the documented fakes (fake_shopify, fake_netsuite) on a
world with six more returns (scenario_webhooks.py). After the first `check`, the fake shop
changes those returns WITHOUT moving their orders' ``updatedAt`` (dispositions, an approval
with a new reverse fulfillment order, a cancellation, a refund and a close) and builds the
deliveries Shopify sends for them (fake_shopify_webhooks.py: REST payloads of Shopify's
webhooks reference, HMAC-SHA256 of the raw body with the app's client secret,
X-Shopify-Webhook-Id the same on a retry). Then:

  1. control: `check` as of NOW2 with nothing delivered -> the product must not see the changes
     (TRUTH_STALE): only the deliveries can carry them;
  2. the deliveries are POSTed to `returns-console listen` (started with the client secret in
     RETURNS_CONSOLE_HARBOUR_WEBHOOK_SECRET): out of order, one twice (Shopify's retry: same
     delivery id, byte-identical), one with a bad signature (must be refused, non-200);
  3. `check` as of NOW2 again -> the changed returns' findings must be TRUTH_WEBHOOKS exactly
     (precision and recall 1.0); the forged delivery's change must not be seen;
  4. `check --full` as of NOW2 -> every change, the forged one's too (TRUTH_FULL): the fake's
     changes are real, a full read sees them.
Everything talks to 127.0.0.1 only.

Run:  .venv/bin/python -m pytest -q -n 0 -s \
          tests/independent/shopify_netsuite/test_shopify_webhooks.py
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from ..harness import REPO, cli_argv, run_cli, stop_listener, wait_port
from ..harness import Server as _Server
from ..harness import free_port as _free_port
from . import fake_netsuite, fake_shopify, scenario
from . import scenario_webhooks as sw
from .fake_shopify_webhooks import (
    CLIENT_SECRET,
    HOOK_PATH,
    PREVIOUS_SECRET,
    REFERENCE_KEYS,
    Delivery,
    ShopifyChanges,
    post,
    sign,
)
from .test_fakes import _SyncASGI
from .test_shopify_netsuite import (
    CLI_TIMEOUT,
    ENV_PREFIX,
    NS_CERTIFICATES,
    PROFILE,
    _describe,
    _env,
    product_lists_both,
    score,
    setup_args,
    write_mappings,
)

CHANGED = set(sw.CHANGED)


# ------------------------------------------------------------------------------- the world
def build_world() -> scenario.World:
    return scenario.build_world(extra=sw.webhook_specs)


def make_changes(world: scenario.World) -> dict[str, Delivery]:
    """Every change of scenario_webhooks, in the order they happen; the deliveries by label."""
    ch = ShopifyChanges(world, api_version=scenario.API_VERSION)
    n = sw.name
    out: dict[str, Delivery] = {}
    out["W3 returns/approve"], rfo_w3 = ch.approve(n(sw.W3), sw.T_APPROVE_W3)
    out["W5 returns/cancel"] = ch.cancel(n(sw.W5), sw.T_CANCEL_W5)
    out["W3 dispose"] = ch.dispose(rfo_w3, "PROCESSING_REQUIRED", sw.T_DISPOSE_W3)
    rfo_w1 = ch.return_by_name(n(sw.W1))["reverseFulfillmentOrders"][0]
    out["W1 dispose"] = ch.dispose(rfo_w1, "PROCESSING_REQUIRED", sw.T_DISPOSE_W1)
    out["W2 refunds/create"] = ch.refund(n(sw.W2), sw.T_REFUND_W2,
                                         "Rücksendung #1302-R1 – erstattet")
    out["W2 returns/process"] = ch.processed(sw.T_REFUND_W2)  # the documented sample: {}
    out["W2 returns/close"] = ch.close(n(sw.W2), sw.T_CLOSE_W2)
    rfo_w6 = ch.return_by_name(n(sw.W6))["reverseFulfillmentOrders"][0]
    out["W6 dispose"] = ch.dispose(rfo_w6, "PROCESSING_REQUIRED", sw.T_DISPOSE_W6)
    rfo_w7 = ch.return_by_name(n(sw.W7))["reverseFulfillmentOrders"][0]
    out["W7 dispose"] = ch.dispose(rfo_w7, "PROCESSING_REQUIRED", sw.T_DISPOSE_W7)
    return out


def delivery_plan(d: dict[str, Delivery]) -> list[tuple[str, Delivery, bool]]:
    """(label, delivery attempt, must be accepted). Out of order on purpose: W3's dispose comes
    before its approval, the retry comes after other deliveries."""
    return [
        ("W3 reverse_fulfillment_orders/dispose (before its approval)", d["W3 dispose"], True),
        ("W1 reverse_fulfillment_orders/dispose", d["W1 dispose"], True),
        ("W6 reverse_fulfillment_orders/dispose, BAD signature", d["W6 dispose"].forged(), False),
        ("W6 reverse_fulfillment_orders/dispose, NO signature header", d["W6 dispose"].unsigned(),
         False),
        ("W7 reverse_fulfillment_orders/dispose, forged copy (BAD signature, genuine's id)",
         d["W7 dispose"].forged(), False),
        ("W2 refunds/create", d["W2 refunds/create"], True),
        ("W2 returns/process, the reference's sample payload {}", d["W2 returns/process"], True),
        ("W1 reverse_fulfillment_orders/dispose, Shopify's retry (same X-Shopify-Webhook-Id)",
         d["W1 dispose"].retry(), True),
        ("W5 returns/cancel", d["W5 returns/cancel"], True),
        ("W3 returns/approve", d["W3 returns/approve"], True),
        ("W7 reverse_fulfillment_orders/dispose, the genuine one", d["W7 dispose"], True),
        ("W2 returns/close, signed with the PREVIOUS client secret (rotation)",
         d["W2 returns/close"].signed_with(PREVIOUS_SECRET), True),
    ]


# ------------------------------------------------------------------------------ the product
def product_has_listen() -> tuple[bool, str]:
    out = run_cli(["listen", "--help"], None, timeout=60)  # this process's environment
    return out.returncode == 0, (out.stdout + out.stderr)[-300:]


def _doc(cp: subprocess.CompletedProcess[str]) -> dict[str, Any] | None:
    try:
        d = json.loads(cp.stdout)
    except json.JSONDecodeError:
        return None
    return d if isinstance(d, dict) else None


def _pairs(doc: dict[str, Any] | None, key: str = "findings",
           refs: set[str] | None = None) -> set[tuple[str, str]]:
    if doc is None:
        return set()
    return {(f.get("return_ref"), f.get("code")) for f in doc.get(key, [])
            if refs is None or f.get("return_ref") in refs}


def _check(env: dict[str, str], now: str, *extra: str) -> subprocess.CompletedProcess[str]:
    return run_cli(["check", "--profile", PROFILE, "--format", "json", "--now", now, *extra],
                   env, CLI_TIMEOUT)


def _mentions(entries: list[dict[str, Any]], gids: list[str]) -> dict[str, int]:
    """How many of the fake Shopify's requests named each gid (query text or variables)."""
    out = {}
    for g in gids:
        out[g] = sum(1 for e in entries
                     if g in (e.get("query") or "") or g in json.dumps(e.get("variables") or {}))
    return out


@pytest.fixture(scope="module")
def webhook_run(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    ok, missing = product_lists_both()
    if not ok:
        pytest.skip(f"the product does not list Shopify and NetSuite as built ({missing})")
    ok, why = product_has_listen()
    if not ok:
        pytest.skip(f"the product has no `listen` command yet: {why}")
    world = build_world()
    home = tmp_path_factory.mktemp("rc_home_webhooks")
    env = _env(home)
    env[ENV_PREFIX + "WEBHOOK_SECRET"] = CLIENT_SECRET
    env[ENV_PREFIX + "WEBHOOK_SECRET_PREVIOUS"] = PREVIOUS_SECRET  # a rotation under way
    run: dict[str, Any] = {"world": world, "t0": time.monotonic()}
    shop_app = fake_shopify.make_app(world, bucket_max=20000, restore_rate=1000)
    ns_app = fake_netsuite.make_app(world, client_id=scenario.NS_CLIENT_ID,
                                    certificates=NS_CERTIFICATES)
    log = shop_app.state.log
    with _Server(shop_app) as shop, _Server(ns_app) as ns:
        shop_url = f"http://127.0.0.1:{shop.port}"
        ns_url = f"http://127.0.0.1:{ns.port}"
        setup = run_cli(setup_args(shop_url, ns_url), env, CLI_TIMEOUT)
        assert setup.returncode == 0, f"setup failed:\n{setup.stdout}\n{setup.stderr}"
        write_mappings(env, home, world)

        # 1. the first check (full read), as of NOW
        run["first"] = _check(env, scenario.NOW_ISO)

        # 2. the listener, on a free port, with the app's client secret from the environment
        port = _free_port()
        lout = open(home / "listen.out", "wb")  # noqa: SIM115 (closed below)
        lerr = open(home / "listen.err", "wb")  # noqa: SIM115
        proc = subprocess.Popen(cli_argv("listen", "--profile", PROFILE, "--host", "127.0.0.1",
                                         "--port", str(port)), env=env, cwd=REPO, stdout=lout,
                                stderr=lerr)
        try:
            wait_port(port, proc)
            # 3. the changes in Shopify (no order's updatedAt moves)
            updated_before = {g: world.nodes[g]["updatedAt"] for g in world.orders}
            deliveries = make_changes(world)
            assert updated_before == {g: world.nodes[g]["updatedAt"] for g in world.orders}
            run["deliveries"] = deliveries

            # 4. control: an incremental check with nothing delivered
            mark = len(log)
            run["control"] = _check(env, sw.NOW2_ISO)
            run["control_log"] = list(log[mark:])

            # 5. the deliveries
            url = f"http://127.0.0.1:{port}"
            run["posts"] = [(label, d, ok_expected, *post(url, d))
                            for label, d, ok_expected in delivery_plan(deliveries)]
            time.sleep(1.0)  # Shopify would not expect the receiver to act within a second

            # 6. the incremental check after the deliveries, then a full read
            mark = len(log)
            run["after"] = _check(env, sw.NOW2_ISO)
            run["after_log"] = list(log[mark:])
            run["full"] = _check(env, sw.NOW2_ISO, "--full")
        finally:
            stop_listener(proc)
            lout.close()
            lerr.close()
            run["listen_rc"] = proc.returncode
            run["listen_err"] = (home / "listen.err").read_text(errors="replace")[-2000:]
    run["elapsed"] = time.monotonic() - run["t0"]
    for k in ("first", "control", "after", "full"):
        run[k + "_doc"] = _doc(run[k])
    dump = os.environ.get("RC_INDEPENDENT_DUMP")
    if dump:
        for k in ("first", "control", "after", "full"):
            Path(f"{dump}.webhooks.{k}.json").write_text(run[k].stdout)
    return run


def _lines_for(run: dict[str, Any], key: str, truth: set[tuple[str, str]],
               notes: dict[tuple[str, str], str]) -> tuple[list[str], float, float]:
    doc = run[key + "_doc"]
    found = _pairs(doc, refs=CHANGED)
    table, p, r = score(truth, found)
    lines = [f"--- {key}: exit {run[key].returncode}; platform "
             f"{(doc or {}).get('platform')}; erp {(doc or {}).get('erp')}", *table]
    by_ref: dict[str, list[dict[str, Any]]] = {}
    for f in (doc or {}).get("findings", []) + (doc or {}).get("delays", []):
        by_ref.setdefault(f.get("return_ref"), []).append(f)
    for pair in sorted(found - truth, key=str):
        lines.append(f"  FALSE POSITIVE {pair}")
    for pair in sorted(truth - found, key=str):
        lines.append(f"  FALSE NEGATIVE {pair} -- planted: {notes.get(pair, '')}")
    for ref in sorted(CHANGED):
        for f in by_ref.get(ref, []):
            kind = "delay" if f.get("delay") else "finding"
            lines.append(f"    {ref} ({kind}) {_describe(f)}")
    if doc is None:
        lines.append("  no JSON; stderr: " + run[key].stderr[-1500:])
    return lines, p, r


def _report(run: dict[str, Any]) -> str:
    lines = [f"webhook check took {run['elapsed']:.1f}s (setup + 4 checks + listener)"]
    lines.append("deliveries (label -> HTTP status):")
    for label, _d, ok_expected, status, body, secs in run["posts"]:
        lines.append(f"  {status} in {secs * 1000:.0f} ms "
                     f"{'(must be 2xx)' if ok_expected else '(must NOT be 200)'} "
                     f"{label} :: {body[:120]!r}")
    for key, truth in (("first", None), ("control", sw.TRUTH_STALE),
                       ("after", sw.TRUTH_WEBHOOKS), ("full", sw.TRUTH_FULL)):
        if truth is None:
            doc = run["first_doc"]
            lines.append(f"--- first (as of NOW, not scored): exit {run['first'].returncode}; "
                         f"changed returns: {sorted(_pairs(doc, refs=CHANGED))} delays: "
                         f"{sorted(_pairs(doc, 'delays', refs=CHANGED))}")
            continue
        lines += _lines_for(run, key, truth, sw.NOTES)[0]
    d = run["deliveries"]
    named = [d["W1 dispose"].payload["admin_graphql_api_id"],
             d["W3 dispose"].payload["admin_graphql_api_id"],
             d["W3 returns/approve"].payload["admin_graphql_api_id"],
             d["W2 refunds/create"].payload["return"]["admin_graphql_api_id"],
             d["W5 returns/cancel"].payload["admin_graphql_api_id"],
             d["W6 dispose"].payload["admin_graphql_api_id"],
             d["W7 dispose"].payload["admin_graphql_api_id"]]
    lines.append(f"Shopify requests: control {len(run['control_log'])}, after "
                 f"{len(run['after_log'])}; gids named by the after-check's requests: "
                 f"{_mentions(run['after_log'], named)}")
    for key in ("control_log", "after_log"):
        lines.append(f"{key[:-4]} check's Shopify reads:")
        for e in run[key]:
            q = " ".join((e.get("query") or "").split())
            lines.append(f"    {q[:110]} :: {json.dumps(e.get('variables') or {})[:160]}")
    lines.append(f"listen exit {run['listen_rc']}; stderr tail: {run['listen_err'][-600:]!r}")
    return "\n".join(lines)


# ===================================================================================== tests
def test_deliveries_are_answered(webhook_run: dict[str, Any]) -> None:
    report = _report(webhook_run)
    print("\n" + report)
    bad = [(label, status) for label, _d, ok_expected, status, _b, _s in webhook_run["posts"]
           if ok_expected != (200 <= status < 300)]
    assert not bad, f"deliveries answered wrongly: {bad}\n{report}"
    slow = [(label, secs) for label, _d, _o, _st, _b, secs in webhook_run["posts"] if secs >= 5]
    assert not slow, f"answered after Shopify's 5 s: {slow}\n{report}"


def test_control_without_deliveries_does_not_see_the_changes(
        webhook_run: dict[str, Any]) -> None:
    lines, p, r = _lines_for(webhook_run, "control", sw.TRUTH_STALE, sw.NOTES)
    assert webhook_run["control_doc"] is not None, "\n".join(lines)
    assert (p, r) == (1.0, 1.0), "\n".join(lines)


def test_webhooks_carry_the_changes(webhook_run: dict[str, Any]) -> None:
    lines, p, r = _lines_for(webhook_run, "after", sw.TRUTH_WEBHOOKS, sw.NOTES)
    doc = webhook_run["after_doc"]
    assert doc is not None, "\n".join(lines)
    assert doc.get("platform", {}).get("status") == "ok", "\n".join(lines)
    assert (p, r) == (1.0, 1.0), "\n".join(lines)


def test_full_read_sees_every_change(webhook_run: dict[str, Any]) -> None:
    lines, p, r = _lines_for(webhook_run, "full", sw.TRUTH_FULL, sw.NOTES)
    assert webhook_run["full_doc"] is not None, "\n".join(lines)
    assert (p, r) == (1.0, 1.0), "\n".join(lines)


def test_hints_leave_every_other_return_alone(webhook_run: dict[str, Any]) -> None:
    """The other returns' findings are the same with and without the deliveries, and the same
    as a full read of the same moment (README: a refresh gives the report of a full check)."""
    control = _pairs(webhook_run["control_doc"])
    after = _pairs(webhook_run["after_doc"])
    full = _pairs(webhook_run["full_doc"])
    others_c = {p for p in control if p[0] not in CHANGED}
    others_a = {p for p in after if p[0] not in CHANGED}
    others_f = {p for p in full if p[0] not in CHANGED}
    assert others_a == others_c, (f"only with deliveries: {sorted(others_a - others_c)}; "
                                  f"only without: {sorted(others_c - others_a)}")
    assert others_a == others_f, (f"only incremental: {sorted(others_a - others_f)}; "
                                  f"only full: {sorted(others_f - others_a)}")


# ---------------------------------------------------------- the fakes themselves (no product)
def test_payloads_have_the_reference_shape() -> None:
    world = build_world()
    d = make_changes(world)
    for label, dl in d.items():
        keys = REFERENCE_KEYS[dl.topic]
        assert set(dl.payload) == keys, (label, set(dl.payload) ^ keys)
        for k in ("id", "order_id"):
            if k in dl.payload:
                assert type(dl.payload[k]) is int  # numeric REST ids, JSON numbers
        if dl.payload:
            assert dl.payload["admin_graphql_api_id"].startswith("gid://shopify/")
    disp = d["W1 dispose"].payload
    assert disp["admin_graphql_api_id"].startswith("gid://shopify/ReverseFulfillmentOrder/")
    assert disp["dispositions"][0]["type"] == "processing_required"
    assert disp["total_dispositions"] == len(disp["dispositions"])
    assert d["W2 returns/close"].payload["status"] == "closed"
    rf = d["W2 refunds/create"].payload
    assert rf["refund_line_items"][0]["restock_type"] == "no_restock"
    assert isinstance(rf["refund_line_items"][0]["subtotal"], float)
    assert isinstance(rf["transactions"][0]["amount"], str)
    assert rf["return"]["admin_graphql_api_id"].startswith("gid://shopify/Return/")
    assert rf["created_at"].endswith("+00:00")  # REST time in the shop's zone


def test_signature_and_retry() -> None:
    world = build_world()
    d = make_changes(world)["W1 dispose"]
    body, h = d.body(), d.headers()
    assert h["X-Shopify-Hmac-Sha256"] == sign(CLIENT_SECRET, body)
    assert d.retry().headers() == h and d.retry().body() == body
    f = d.forged()
    assert f.body() == body and f.headers()["X-Shopify-Webhook-Id"] == h["X-Shopify-Webhook-Id"]
    assert f.headers()["X-Shopify-Hmac-Sha256"] != h["X-Shopify-Hmac-Sha256"]
    refund = make_changes(build_world())["W2 refunds/create"]
    assert "Rücksendung".encode() in refund.body()  # raw UTF-8, not \u escapes
    assert h["X-Shopify-Triggered-At"].endswith("Z") and len(h["X-Shopify-Webhook-Id"]) == 36
    assert HOOK_PATH == "/hooks/shopify/webhooks"


def test_changes_are_visible_through_graphql_but_not_through_updated_at() -> None:
    """After the changes the GraphQL view shows them; orders(updated_at:>...) does not list the
    changed orders (their updatedAt did not move)."""
    world = build_world()
    app = fake_shopify.make_app(world, bucket_max=1e9)
    gql = f"/admin/api/{scenario.API_VERSION}/graphql.json"
    hdr = {"X-Shopify-Access-Token": scenario.ACCESS_TOKEN}
    with httpx.Client(transport=_SyncASGI(app), base_url="http://shop.test") as c:
        def q(query: str, **variables: Any) -> dict[str, Any]:
            r = c.post(gql, json={"query": query, "variables": variables}, headers=hdr)
            body = r.json()
            assert "errors" not in body, body
            return body["data"]

        # an hour before NOW: the in-flight requests of the base world, none of the changed
        since = "updated_at:>'2026-11-24T11:00:00Z'"
        ordq = ("query($q: String) { orders(first: 250, query: $q, sortKey: UPDATED_AT) "
                "{ nodes { id name } } }")
        before = {o["name"] for o in q(ordq, q=since)["orders"]["nodes"]}
        d = make_changes(world)
        after = {o["name"] for o in q(ordq, q=since)["orders"]["nodes"]}
        assert before and before == after
        assert not {r.rsplit("-", 1)[0] for r in CHANGED} & after
        rfo = d["W3 dispose"].payload["admin_graphql_api_id"]
        data = q("query($id: ID!) { reverseFulfillmentOrder(id: $id) { status order { name "
                 "returns(first: 5) { nodes { name status requestApprovedAt } } } "
                 "lineItems(first: 5) { nodes { dispositions { type createdAt quantity } } } } }",
                 id=rfo)["reverseFulfillmentOrder"]
        assert data["order"]["returns"]["nodes"][0]["status"] == "OPEN"
        assert data["lineItems"]["nodes"][0]["dispositions"][0]["type"] == "PROCESSING_REQUIRED"
        ret = d["W2 returns/close"].payload["admin_graphql_api_id"]
        data = q("query($id: ID!) { return(id: $id) { status closedAt refunds(first: 5) { nodes "
                 "{ createdAt totalRefundedSet { shopMoney { amount } } } } } }", id=ret)["return"]
        assert data["status"] == "CLOSED" and data["refunds"]["nodes"]
        ret5 = d["W5 returns/cancel"].payload["admin_graphql_api_id"]
        data = q("query($id: ID!) { return(id: $id) { status reverseFulfillmentOrders(first: 2) "
                 "{ nodes { status } } } }", id=ret5)["return"]
        assert data == {"status": "CANCELED",
                        "reverseFulfillmentOrders": {"nodes": [{"status": "CANCELED"}]}}
        # decline (not sent by the run: see scenario_webhooks, "Not covered") has its shape too
        w2 = build_world()
        dl = ShopifyChanges(w2).decline(scenario_requested(w2), sw.T_APPROVE_W3,
                                        "RETURN_PERIOD_ENDED", "Outside the 30-day window")
        assert set(dl.payload) == REFERENCE_KEYS["returns/decline"]
        assert dl.payload["decline"]["reason"] == "return_period_ended"


def scenario_requested(world: scenario.World) -> str:
    return next(sp.name for sp in world.specs if sp.status == "REQUESTED" and sp.platform)


def test_truth_timing_margins() -> None:
    """Every change is past the 24 h grace at NOW2 and after the first check (NOW); the changed
    returns' orders were last updated well before NOW (outside an hour's overlap)."""
    from datetime import timedelta

    for t in sw.CHANGE_TIMES:
        assert t > scenario.NOW and sw.NOW2 - t > timedelta(hours=25)
    world = build_world()
    for o in (world.nodes[g] for g in world.orders):
        if any(world.nodes[r]["name"] in CHANGED for r in o["returns"]):
            assert o["_updated"] < scenario.NOW - timedelta(hours=11)
