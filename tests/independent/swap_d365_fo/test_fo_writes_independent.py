"""Independent check of the product's ERP WRITES to Dynamics 365 Finance & Operations (system
``d365_fo``): ``act fix-reference`` and ``act requeue`` run through the real CLI against a fake
of F&O's OData data entities that accepts writes as the vendor docs define them
(fake_fo_writes.py, from docs/vendors/d365-fo.md and Microsoft Learn) and the earlier check's
fake of Swap; scored against the planted truth of scenario_writes.py.

Run:  .venv/bin/python -m pytest tests/independent/swap_d365_fo/test_fo_writes_independent.py \
          -q -s -n 0

Scoring: the writes F&O committed vs the writes the truth expects, as multisets of
(method, entity set, key, fields) tuples (a duplicate counts against precision); printed as a
table. Then the safety properties: If-Match on every PATCH, nothing but the link field
patched, no stale overwrite, no write to a posted document, no money/stock-moving field, nothing
sent that an installation's $metadata forbids, every write audited before and after it is
sent, no secret in any output, log or audit row.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
from collections import Counter
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from ..harness import Server, cli_env, run_cli
from ..swap_d365_bc import fake_swap
from . import fake_fo_writes as fw
from . import scenario, scenario_writes

MAIN = "fenwick"
LOCKED = "fenwicklocked"
AUDIT_KEY = "rc-audit-7f3e9a1c5b2d4e6f8a0b1c2d3e4f5a6b"
HEADERS, LINES = fw.HEADERS, fw.LINES


def _env(home: Path) -> dict[str, str]:
    env = cli_env(home, {prof: {"api_key": scenario.API_KEY,
                                "client_secret": scenario.CLIENT_SECRET}
                         for prof in (MAIN, LOCKED)})
    # beyond the harness's environment: the audit log's key (set after cli_env, which drops
    # every inherited RETURNS_CONSOLE_ setting)
    env["RETURNS_CONSOLE_AUDIT_KEY"] = AUDIT_KEY
    return env


def _run(args: list[str], env: dict[str, str], log: list[dict[str, Any]],
         timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """run_cli, each run also kept in `log` (for the summary and RC_INDEPENDENT_DUMP)."""
    proc = run_cli(args, env, timeout)
    log.append({"args": args, "rc": proc.returncode, "stdout": proc.stdout,
                "stderr": proc.stderr})
    return proc


def _setup(profile: str, swap_url: str, fo_url: str, default: bool) -> list[str]:
    return ["setup", "--profile", profile, "--platform", "swap", "--platform-url", swap_url,
            "--platform-option", f"store={scenario.STORE_ID}",
            "--platform-option", "api_version=2",
            "--erp", "d365_fo", "--erp-url", fo_url,
            "--erp-option", f"tenant={scenario.TENANT}",
            "--erp-option", f"client_id={scenario.CLIENT_ID}",
            "--erp-option", f"company={scenario.COMPANY}",
            "--erp-option", f"token_url={fo_url}/{{tenant}}/oauth2/v2.0/token",
            *(["--default"] if default else [])]


def _write_mappings(env: dict[str, str], home: Path, world: scenario.World, profile: str,
                    log: list[dict[str, Any]]) -> None:
    locate = _run(["locate"], env, log)
    data_dir = next((ln.split(":", 1)[1].strip() for ln in locate.stdout.splitlines()
                     if ln.startswith("data_dir:")), str(home / "data"))
    mdir = Path(data_dir) / "mappings"
    mdir.mkdir(parents=True, exist_ok=True)
    (mdir / f"{profile}.json").write_text(json.dumps(world.mappings, indent=2))


class _QuietDroppedAnswer(logging.Filter):
    """The planted lost answer makes uvicorn log h11's LocalProtocolError: expected, hidden."""

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        return not (exc is not None and "Content-Length" in str(exc))


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    quiet = _QuietDroppedAnswer()
    logging.getLogger("uvicorn.error").addFilter(quiet)
    try:
        yield _run_all(tmp_path_factory)
    finally:
        logging.getLogger("uvicorn.error").removeFilter(quiet)


def _run_all(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    home = tmp_path_factory.mktemp("rc_home_writes")
    env = _env(home)
    world, plan = scenario_writes.build()
    faults = fw.Faults(
        throttle={("PATCH", HEADERS, 1), ("POST", LINES, 1)},
        concurrent_edit=dict(plan.concurrent_edit),
        drop_header_answer={"RMA-FR-8205"},
        fail_first_line_answer={"RMA-FR-8206"},
    )
    fo = fw.WriteFake(world, faults=faults, throttle_every=31, throttle_max=2)
    lworld, _ = scenario_writes.build()
    locked = fw.WriteFake(lworld, variant="locked")
    swap_app = fake_swap.make_app(world, api_key=scenario.API_KEY)
    cli: list[dict[str, Any]] = []
    out: dict[str, Any] = {"plan": plan, "fo": fo, "locked": locked, "cli": cli, "home": home}
    with Server(swap_app) as swap, Server(fo) as fo_srv, Server(locked) as locked_srv:
        swap_url = f"http://127.0.0.1:{swap.port}/returns-api"
        fo_url = f"http://127.0.0.1:{fo_srv.port}"
        lk_url = f"http://127.0.0.1:{locked_srv.port}"
        out["setup"] = _run(_setup(MAIN, swap_url, fo_url, True), env, cli)
        if out["setup"].returncode != 0:
            return out
        _write_mappings(env, home, world, MAIN, cli)
        out["check"] = _run(["check", "--profile", MAIN, "--format", "json", "--now",
                             scenario.NOW_ISO], env, cli)
        out["fix"] = {}
        for name, (ref, link) in plan.fix.items():
            out["fix"][name] = _run(["--profile", MAIN, "act", "fix-reference", ref, link,
                                     "--yes"], env, cli)
        first = ["RMA-FR-8201", "RMA-FR-6201", "RMA-FR-8202", "RMA-FR-8203", "RMA-FR-8204",
                 "RMA-FR-6203"]
        out["requeue1"] = _run(["--profile", MAIN, "act", "requeue", *first, "--yes"], env, cli)
        out["requeue_lost"] = _run(["--profile", MAIN, "act", "requeue", "RMA-FR-8205",
                                    "RMA-FR-8206", "--yes"], env, cli)
        out["requeue_again"] = _run(["--profile", MAIN, "act", "requeue", "RMA-FR-8201",
                                     "RMA-FR-8205", "RMA-FR-8206", "--yes"], env, cli)
        # what the product itself reports afterwards (evidence for the report, not scored)
        out["check_after"] = _run(["check", "--profile", MAIN, "--format", "json", "--now",
                                   scenario.NOW_ISO], env, cli)
        # the installation whose $metadata forbids the link field (AllowEdit/OnCreate false)
        out["setup_locked"] = _run(_setup(LOCKED, swap_url, lk_url, False), env, cli)
        _write_mappings(env, home, lworld, LOCKED, cli)
        out["check_locked"] = _run(["check", "--profile", LOCKED, "--format", "json", "--now",
                                    scenario.NOW_ISO], env, cli)
        ref, link = plan.fix["typo"]
        out["fix_locked"] = _run(["--profile", LOCKED, "act", "fix-reference", ref, link,
                                  "--yes"], env, cli)
        out["requeue_locked"] = _run(["--profile", LOCKED, "act", "requeue", "RMA-FR-8201",
                                      "--yes"], env, cli)
        out["audit"] = _run(["audit", "export", "--format", "json"], env, cli)
        out["verify"] = _run(["audit", "verify"], env, cli)
        out["tokens"] = list(fo.inner.state.tokens) + list(locked.inner.state.tokens)
    dump = os.environ.get("RC_INDEPENDENT_DUMP")
    if dump:  # every CLI run and every write the fakes received, for a reviewer
        Path(dump).write_text(json.dumps({"cli": cli, "writes": fo.writes,
                                          "locked_writes": locked.writes}, indent=1,
                                         default=str))
    try:
        out["audit_rows"] = json.loads(out["audit"].stdout)
    except (json.JSONDecodeError, KeyError):
        out["audit_rows"] = None
    return out


def _need_setup(run: dict[str, Any]) -> None:
    s = run["setup"]
    assert s.returncode == 0, f"setup failed ({s.returncode}):\n{s.stdout[-2000:]}\n{s.stderr}"


# ------------------------------------------------------------------------------------ scoring
def _expected(run: dict[str, Any]) -> Counter[tuple[Any, ...]]:
    plan: scenario_writes.Plan = run["plan"]
    exp: Counter[tuple[Any, ...]] = Counter()
    co, no = plan.fix_record["typo"]
    exp[("PATCH", HEADERS, f"{co}/{no}", (("CustomersOrderReference", plan.fix["typo"][1]),))] += 1
    for link, (acct, lines) in plan.create.items():
        exp[("POST", HEADERS, f"{scenario.COMPANY}/{link}",
             (("CustomerAccountNumber", acct), ("CustomersOrderReference", link)))] += 1
        for item, qty in lines:
            exp[("POST", LINES, f"{scenario.COMPANY}/{link}/{item}",
                 (("ReturnSalesQuantity", qty),))] += 1
    return exp


def _tuple(w: dict[str, Any]) -> tuple[Any, ...]:
    body = w.get("body") if isinstance(w.get("body"), dict) else {}
    if w["method"] == "PATCH":
        return ("PATCH", w["set"], w.get("record"), tuple(sorted(body.items())))
    if w["method"] == "POST" and w["set"] == HEADERS:
        co = str(body.get("dataAreaId") or scenario.DEFAULT_COMPANY).lower()
        return ("POST", HEADERS, f"{co}/{body.get('CustomersOrderReference')}",
                (("CustomerAccountNumber", body.get("CustomerAccountNumber")),
                 ("CustomersOrderReference", body.get("CustomersOrderReference"))))
    if w["method"] == "POST" and w["set"] == LINES:
        co = str(body.get("dataAreaId") or scenario.DEFAULT_COMPANY).lower()
        return ("POST", LINES, f"{co}/{w.get('link')}/{body.get('ItemNumber')}",
                (("ReturnSalesQuantity", body.get("ReturnSalesQuantity")),))
    return (w["method"], w.get("set"), w.get("path"), tuple(sorted(body.items())))


def _fmt(w: dict[str, Any]) -> str:
    body = json.dumps(w.get("body"), sort_keys=True)
    im = f" If-Match={w['if_match']}" if w.get("if_match") else ""
    return (f"{w['method']} {w['path']}{'?' + w['query'] if w.get('query') else ''}{im} "
            f"-> {w['status']}{' COMMITTED' if w['committed'] else ''}"
            f"{' [' + w['note'] + ']' if w.get('note') else ''} {body[:300]}"
            f"{' :: ' + w['error'][:200] if w.get('error') else ''}")


def _cli_summary(run: dict[str, Any]) -> list[str]:
    lines = []
    for c in run["cli"]:
        if c["args"][0] in ("locate",):
            continue
        tail = (c["stdout"].strip().splitlines() or [""])[-3:]
        err = c["stderr"].strip().splitlines()[-2:] if c["stderr"].strip() else []
        lines.append(f"$ returns-console {' '.join(c['args'][:8])} -> exit {c['rc']}")
        if c["args"][0] != "check" and c["args"][:2] != ["audit", "export"]:
            lines += [f"    | {ln[:220]}" for ln in tail + err]
    return lines


def _link_of(w: dict[str, Any]) -> str | None:
    return (w.get("body") or {}).get("CustomersOrderReference") if w.get("set") == HEADERS \
        and w["method"] == "POST" else w.get("link")


def _findings(proc: subprocess.CompletedProcess[str] | None, refs: set[str]) -> list[str]:
    try:
        doc = json.loads(proc.stdout) if proc is not None else {}
    except json.JSONDecodeError:
        return ["(no JSON)"]
    return [f"{f.get('return_ref')} {f.get('code')} action={f.get('action')} :: "
            f"{str(f.get('message'))[:150]}"
            for f in doc.get("findings", []) if f.get("return_ref") in refs]


def test_writes_precision_recall(run: dict[str, Any]) -> None:
    _need_setup(run)
    fo: fw.WriteFake = run["fo"]
    plan: scenario_writes.Plan = run["plan"]
    committed = [w for w in fo.writes if w["committed"]]
    undetermined = [w for w in committed if _link_of(w) in plan.no_write_reading]
    got = Counter(_tuple(w) for w in committed if w not in undetermined)
    exp = _expected(run)
    tp = sum((got & exp).values())
    precision = tp / sum(got.values()) if got else 0.0
    recall = tp / sum(exp.values()) if exp else 1.0
    rows = ["", "F&O WRITES: expected vs committed (multiset of (method, set, key, fields))",
            f"{'tuple':<110} {'exp':>3} {'got':>3}"]
    for t in sorted(set(exp) | set(got), key=str):
        mark = "ok " if exp[t] == got[t] else "XX "
        rows.append(f"{mark}{str(t)[:107]:<107} {exp[t]:>3} {got[t]:>3}")
    rows.append(f"PRECISION {precision:.3f} ({tp}/{sum(got.values())})   "
                f"RECALL {recall:.3f} ({tp}/{sum(exp.values())})")
    rows.append("UNSCORED (rests on a reading the docs do not settle, see "
                "test_requeue_needs_review_reading):")
    rows += [f"  {_fmt(w)}" for w in undetermined] or ["  (none)"]
    rows.append("")
    rows.append("EVERY WRITE REQUEST F&O RECEIVED (main installation):")
    rows += [f"  {_fmt(w)}" for w in fo.writes]
    rows.append("WRITE REQUESTS THE LOCKED INSTALLATION RECEIVED:")
    rows += [f"  {_fmt(w)}" for w in run["locked"].writes] or ["  (none)"]
    rows.append("CLI:")
    rows += _cli_summary(run)
    rows.append("THE PRODUCT'S OWN CHECK AFTER THE ACTIONS (fix-reference targets):")
    rows += [f"  {ln}" for ln in _findings(run.get("check_after"), {
        "RMA-FR-8101", "RMA-FR-81O1", "RMA-FR-8102", "RMA-FR-81O2", "RMA-FR-8104",
        "RMA-FR-81O4"})]
    report = "\n".join(rows)
    print(report)
    assert precision == 1.0 and recall == 1.0, report


# ------------------------------------------------------------------------------ fix reference
def _record(fake: fw.WriteFake, co: str, no: str) -> dict[str, Any]:
    return next(r for r in fake.svc.data[HEADERS]
                if r["dataAreaId"] == co and r["ReturnOrderNumber"] == no)


def test_fix_reference_is_one_conditional_patch_of_the_link_only(run: dict[str, Any]) -> None:
    _need_setup(run)
    fo: fw.WriteFake = run["fo"]
    plan: scenario_writes.Plan = run["plan"]
    co, no = plan.fix_record["typo"]
    patches = [w for w in fo.writes if w["method"] == "PATCH"]
    assert patches, "no PATCH reached F&O"
    for w in patches:
        assert w["if_match"], f"PATCH without If-Match (README; OData v4 §11.4.1.1): {_fmt(w)}"
        assert set((w["body"] or {}).keys()) == {"CustomersOrderReference"}, (
            f"a PATCH changed more than the link field: {_fmt(w)}")
    mine = [w for w in patches if w.get("record") == f"{co}/{no}"]
    done = [w for w in mine if w["committed"]]
    assert len(done) == 1, "\n".join(_fmt(w) for w in mine)
    assert done[0]["if_match"] == done[0]["etag_at_arrival"], _fmt(done[0])
    assert _record(fo, co, no)["CustomersOrderReference"] == plan.fix["typo"][1]
    # the 429 on the first PATCH was waited out, not given up
    assert any(w["status"] == 429 for w in mine), "the planted 429 did not hit this PATCH"


def test_stale_etag_is_not_overwritten(run: dict[str, Any]) -> None:
    _need_setup(run)
    fo: fw.WriteFake = run["fo"]
    plan: scenario_writes.Plan = run["plan"]
    co, no = plan.fix_record["stale"]
    mine = [w for w in fo.writes if w.get("record") == f"{co}/{no}"]
    rec = _record(fo, co, no)
    detail = "\n".join(_fmt(w) for w in mine) + "\n" + run["fix"]["stale"].stdout[-1500:]
    assert mine and mine[0]["status"] == 412, "the planted edit was never met:\n" + detail
    assert not [w for w in mine if w["committed"]], "overwrote someone else's change:\n" + detail
    assert rec["CustomersOrderReference"] == "RMA-FR-8199", detail


def test_posted_credit_note_reference_is_not_changed(run: dict[str, Any]) -> None:
    _need_setup(run)
    fo: fw.WriteFake = run["fo"]
    plan: scenario_writes.Plan = run["plan"]
    co, no = plan.fix_record["posted"]
    hits = [w for w in fo.writes
            if w.get("record") == f"{co}/{no}" or str(w.get("set", "")).startswith("SalesInvoice")]
    proc = run["fix"]["posted"]
    notes = [f"credit note {r['InvoiceNumber']} (posted, SalesOrderNumber {no}) carries "
             f"{r['CustomersOrderReference']!r}" for r in fo.svc.data["SalesInvoiceHeadersV2"]
             if r["dataAreaId"] == co and r["SalesOrderNumber"] == no]
    assert not hits, ("the reference of an invoiced return order was written (R2):\n"
                      + "\n".join(_fmt(w) for w in hits) + "\nafter it: " + "; ".join(notes)
                      + f"; return order {no} carries "
                      f"{_record(fo, co, no)['CustomersOrderReference']!r}")
    assert _record(fo, co, no)["CustomersOrderReference"] == "RMA-FR-81O4"
    assert proc.returncode != 0 or "F&O" in proc.stdout, proc.stdout[-1500:]


# ---------------------------------------------------------------------------------- re-queue
def test_requeue_creates_each_missing_return_order_once(run: dict[str, Any]) -> None:
    """One header per approved return in the profile's legal entity and exactly its lines,
    over a second run and over answers lost after the commit (R4, R5; fo §7.1)."""
    _need_setup(run)
    fo: fw.WriteFake = run["fo"]
    plan: scenario_writes.Plan = run["plan"]
    heads = fo.svc.data[HEADERS]
    problems = []
    for link, (_acct, lines) in plan.create.items():
        mine = [h for h in heads if h["CustomersOrderReference"] == link
                and h["dataAreaId"] == scenario.COMPANY]
        if len(mine) != 1:
            problems.append(f"{link}: {len(mine)} return orders in frgb (want 1)")
            continue
        got = Counter(r["ItemNumber"] for r in fo.svc.data[LINES]
                      if r["dataAreaId"] == scenario.COMPANY
                      and r["ReturnOrderNumber"] == mine[0]["ReturnOrderNumber"])
        want = Counter(item for item, _ in lines)
        if got != want:
            problems.append(f"{link}: lines {dict(got)} (want {dict(want)})")
        if mine[0]["ReturnStatus"] != "Created":
            problems.append(f"{link}: header status {mine[0]['ReturnStatus']} (want Created)")
    assert not problems, "\n".join(problems) + "\n" + "\n".join(_cli_summary(run))


def _posts_for(fo: fw.WriteFake, link: str) -> list[dict[str, Any]]:
    return [w for w in fo.writes if w["method"] in fw.WRITE_METHODS and _link_of(w) == link]


@pytest.mark.parametrize("link", ["RMA-FR-8203", "RMA-FR-8204", "RMA-FR-6203"])
def test_requeue_writes_nothing(run: dict[str, Any], link: str) -> None:
    _need_setup(run)
    sent = _posts_for(run["fo"], link)
    assert not sent, f"{link} ({run['plan'].no_write[link]}):\n" + "\n".join(
        _fmt(w) for w in sent)


def test_requeue_needs_review_reading(run: dict[str, Any]) -> None:
    """Swap §1.3 lists return_status 'Needs Review' without defining it; this check read it
    as awaiting the merchant's decision (scenario_writes R1), and the product now does too
    (Swap option `pending_statuses`, default Needs Review): nothing is written for it."""
    _need_setup(run)
    for link, why in run["plan"].no_write_reading.items():
        sent = _posts_for(run["fo"], link)
        assert not sent, f"{link} ({why}):\n" + "\n".join(_fmt(w) for w in sent)


def test_no_money_or_stock_moving_write(run: dict[str, Any]) -> None:
    _need_setup(run)
    bad = []
    for fake in (run["fo"], run["locked"]):
        for w in fake.writes:
            if w["method"] == "POST" and w.get("set") == "$batch":
                bad.append(f"a $batch (writes belong to single requests here): {_fmt(w)}")
                continue
            body = w.get("body") if isinstance(w.get("body"), dict) else {}
            if w["method"] not in ("POST", "PATCH") or w.get("set") not in fw.WRITABLE:
                bad.append(f"outside the return order entities: {_fmt(w)}")
                continue
            moving = set(body) & fw.MONEY_OR_STOCK[w["set"]]
            if moving:
                bad.append(f"money/stock-moving fields {sorted(moving)}: {_fmt(w)}")
    assert not bad, "\n".join(bad)


def test_main_installation_refuses_nothing(run: dict[str, Any]) -> None:
    """Nothing the standard installation refuses (400/404/405: a field it does not let be
    set, an unknown property, a wrong key, a missing customer): only the planted 412 and 429
    and the planted lost answers."""
    _need_setup(run)
    bad = [w for w in run["fo"].writes
           if w["status"] not in (201, 204, 412, 429, 500) and not w["committed"]]
    assert not bad, "\n".join(_fmt(w) for w in bad)


def test_locked_installation_gets_nothing_it_forbids(run: dict[str, Any]) -> None:
    _need_setup(run)
    locked: fw.WriteFake = run["locked"]
    sent = [w for w in locked.writes if w["method"] in fw.WRITE_METHODS]
    offered = []
    try:
        doc = json.loads(run["check_locked"].stdout)
    except json.JSONDecodeError:
        doc = {}
    for f in doc.get("findings", []):
        if f.get("return_ref") in ("RMA-FR-81O1", "RMA-FR-8201"):
            offered.append(f"{f.get('return_ref')} {f.get('code')} action={f.get('action')!r}")
    print("\nlocked installation: actions the check offers: " + "; ".join(offered))
    assert any(e["path"] == "/data/$metadata" for e in locked.log), "the product never read " \
        "this installation's $metadata"
    assert not sent, "writes the installation's $metadata forbids:\n" + "\n".join(
        _fmt(w) for w in sent)


# ------------------------------------------------------------------------------------- audit
def _ts(text: str) -> float:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def test_every_write_is_audited_before_and_after(run: dict[str, Any]) -> None:
    _need_setup(run)
    rows = run["audit_rows"]
    assert rows is not None, run["audit"].stdout[-1000:] + run["audit"].stderr[-1000:]
    assert run["verify"].returncode == 0, run["verify"].stdout + run["verify"].stderr
    plan: scenario_writes.Plan = run["plan"]
    by_record = {f"{co}/{no}": plan.fix[name][0] for name, (co, no) in plan.fix_record.items()}
    fo: fw.WriteFake = run["fo"]
    pending = [r for r in rows if r.get("outcome") == "pending"]
    outcome = {r.get("completes"): r for r in rows if r.get("completes") is not None}
    problems = []
    for p in pending:
        if p["seq"] not in outcome:
            problems.append(f"audit row {p['seq']} ({p['action']} {p['return_ref']}) has no "
                            "outcome row")
    for w in [*fo.writes, *run["locked"].writes]:
        if w["method"] not in fw.WRITE_METHODS or w["status"] == 401:
            continue
        ref = by_record.get(w.get("record") or "") or (w.get("body") or {}).get(
            "CustomersOrderReference") or w.get("link")
        t = int(w["t"])
        ok = any(
            (p["return_ref"] == ref or ref in (p.get("parameters") or {}).get("returns", []))
            and _ts(p["at"]) <= t and p["seq"] in outcome and _ts(outcome[p["seq"]]["at"]) >= t
            for p in pending)
        if not ok:
            problems.append(f"no pending row before / outcome row after: {_fmt(w)}")
    assert not problems, "\n".join(problems)


def test_no_secret_in_any_output_log_or_audit(run: dict[str, Any]) -> None:
    _need_setup(run)
    secrets = {"client secret": scenario.CLIENT_SECRET, "api key": scenario.API_KEY,
               "audit key": AUDIT_KEY}
    secrets.update({f"access token {i}": t for i, t in enumerate(run["tokens"])})
    leaks = []
    for c in run["cli"]:
        for stream in ("stdout", "stderr"):
            for name, value in secrets.items():
                if value and value in c[stream]:
                    leaks.append(f"{name} in {stream} of {' '.join(c['args'][:4])}")
    for path in Path(run["home"]).rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            for name, value in secrets.items():
                if value and value.encode() in data:
                    leaks.append(f"{name} in {path}")
    assert not leaks, "\n".join(leaks)


# ------------------------------------------------------------- the fake itself (no product)
@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_the_write_fake_follows_its_reading_of_the_docs() -> None:
    """The fake's own semantics, so that a failure above is the product's, not the fake's."""
    from starlette.testclient import TestClient

    world, plan = scenario_writes.build()
    client = TestClient(fw.WriteFake(world), base_url="http://fo.test")
    tok = client.post(f"/{scenario.TENANT}/oauth2/v2.0/token", data={
        "grant_type": "client_credentials", "client_id": scenario.CLIENT_ID,
        "client_secret": scenario.CLIENT_SECRET, "scope": "http://fo.test/.default"}).json()
    h = {"Authorization": f"Bearer {tok['access_token']}"}
    co, no = plan.fix_record["typo"]
    url = f"/data/{HEADERS}(dataAreaId='{co}',ReturnOrderNumber='{no}')?cross-company=true"
    etag = client.get(url, headers=h).json()["@odata.etag"]
    body = {"CustomersOrderReference": "RMA-FR-8101"}
    stale = 'W/"JzEsMSc="'
    assert client.patch(url, json=body, headers={**h, "If-Match": stale}).status_code == 412
    r = client.patch(url, json=body, headers={**h, "If-Match": etag})
    assert r.status_code == 204
    assert client.get(url, headers=h).json()["@odata.etag"] not in (etag, stale)
    assert client.patch(url, json={"ReturnStatus": "Closed"}, headers=h).status_code == 400
    new = client.post(f"/data/{HEADERS}", headers=h, json={
        "dataAreaId": co, "CustomerAccountNumber": world.customers[44].account,
        "CustomersOrderReference": "RMA-FR-TEST"})
    assert new.status_code == 201, new.text
    made = new.json()
    assert made["ReturnOrderNumber"] and made["RMANumber"] and made["ReturnStatus"] == "Created"
    line = {"dataAreaId": co, "ReturnOrderNumber": made["ReturnOrderNumber"],
            "ItemNumber": "TEE-WHT-M", "ReturnSalesQuantity": 1}
    assert client.post(f"/data/{LINES}", headers=h, json=line).status_code == 400
    line["ReturnSalesQuantity"] = -1
    assert client.post(f"/data/{LINES}", headers=h, json=line).json()["ReturnInventoryLotId"]
    assert client.post(f"/data/{HEADERS}", headers=h, json={
        "dataAreaId": co, "CustomerAccountNumber": "NOPE"}).status_code == 400
    assert client.patch(f"/data/SalesInvoiceHeadersV2(dataAreaId='{co}',InvoiceNumber='X',"
                        "InvoiceDate=2026-01-01,LedgerVoucher='V')", json={}, headers=h
                        ).status_code == 400
    locked = fw.metadata_xml("locked")
    assert ('Name="CustomersOrderReference"' in locked
            and f'Term="{fw.ANN}.AllowEditOnCreate" Bool="false"' in locked)
