"""Independent check: the product's real CLI against fakes of Swap Returns API v2 and Dynamics 365
Finance & Operations (OData data entities) built from the vendors' documentation
(docs/vendors/swap-commerce.md, docs/vendors/d365-fo.md), scored against planted truth
(scenario.py: ``truth`` and ``plant_notes``).

Run:  .venv/bin/python -m pytest tests/independent/swap_d365_fo -q -s -n 0
(``-s`` shows the scoring table even when the test passes; RC_INDEPENDENT_DUMP=FILE keeps the
product's JSON.)
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

import pytest

from ..harness import Server as _Server
from ..harness import cli_env, precision_recall, run_cli
from ..swap_d365_bc import fake_swap
from . import fake_fo, scenario

PROFILE = "fenwick"
# a 429 with Retry-After: 1 now and then (§4.1), kept rare so the run stays short
THROTTLE_EVERY = 17
THROTTLE_MAX = 2


def setup_args(swap_url: str, fo_url: str) -> list[str]:
    """The profile, as the brief fixes it for d365_fo (options tenant, client_id, company,
    token_url; secret client_secret from the environment)."""
    return [
        "setup", "--profile", PROFILE,
        "--platform", "swap",
        "--platform-url", swap_url,
        "--platform-option", f"store={scenario.STORE_ID}",
        "--platform-option", "api_version=2",
        "--erp", "d365_fo",
        "--erp-url", fo_url,  # the environment URL; the connector appends /data
        "--erp-option", f"tenant={scenario.TENANT}",
        "--erp-option", f"client_id={scenario.CLIENT_ID}",
        "--erp-option", f"company={scenario.COMPANY}",
        # the connector replaces {tenant}; the scope defaults to the ERP URL + /.default
        "--erp-option", f"token_url={fo_url}/{{tenant}}/oauth2/v2.0/token",
        "--default",
    ]


def write_mappings(env: dict[str, str], home: Path, world: scenario.World) -> None:
    """The profile's mapping table, where the product keeps it (data_dir/mappings/<profile>.json,
    as `locate` says)."""
    locate = run_cli(["locate"], env)
    data_dir = next(
        (ln.split(":", 1)[1].strip() for ln in locate.stdout.splitlines()
         if ln.startswith("data_dir:")),
        str(home / "data"),
    )
    mdir = Path(data_dir) / "mappings"
    mdir.mkdir(parents=True, exist_ok=True)
    (mdir / f"{PROFILE}.json").write_text(json.dumps(world.mappings, indent=2))


@pytest.fixture(scope="module")
def world() -> scenario.World:
    return scenario.build_world()


@pytest.fixture(scope="module")
def check_run(world: scenario.World, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    home = tmp_path_factory.mktemp("rc_home")
    # never the user's OS keyring: secrets come from the environment, as the README allows
    env = cli_env(home, {PROFILE: {"api_key": scenario.API_KEY,
                                   "client_secret": scenario.CLIENT_SECRET}})
    # the earlier check's fake of Swap, behind this world's key
    swap_app = fake_swap.make_app(world, api_key=scenario.API_KEY)
    fo_app = fake_fo.make_app(world, throttle_every=THROTTLE_EVERY, throttle_max=THROTTLE_MAX,
                              retry_after=1)
    out: dict[str, Any] = {"check": None, "doc": None, "check2": None, "doc2": None}
    with _Server(swap_app) as swap, _Server(fo_app) as fo:
        fo_url = f"http://127.0.0.1:{fo.port}"
        setup = run_cli(setup_args(f"http://127.0.0.1:{swap.port}/returns-api", fo_url), env)
        out["setup"] = setup
        if setup.returncode != 0:
            return out
        write_mappings(env, home, world)
        started = time.monotonic()
        check = run_cli(
            ["check", "--profile", PROFILE, "--format", "json", "--now", scenario.NOW_ISO], env
        )
        out["elapsed"] = time.monotonic() - started
        out["fo_log"] = list(fo_app.state.log)
        out["swap_log"] = list(swap_app.state.log)
        # a second check refreshes incrementally over the cache; nothing changed, so it must
        # say the same
        check2 = run_cli(
            ["check", "--profile", PROFILE, "--format", "json", "--now", scenario.NOW_ISO], env
        )
        out["fo_log2"] = list(fo_app.state.log)[len(out["fo_log"]):]
    out["check"], out["check2"] = check, check2
    for key, proc in (("doc", check), ("doc2", check2)):
        try:
            out[key] = json.loads(proc.stdout)
        except json.JSONDecodeError:
            out[key] = None
    dump = os.environ.get("RC_INDEPENDENT_DUMP")
    if dump:
        Path(dump).write_text(check.stdout)
    return out


def _describe(f: dict[str, Any]) -> str:
    return (
        f"{f.get('code')} [{f.get('stage')}/{f.get('severity')}] "
        f"platform={f.get('platform_value')!r} erp={f.get('erp_value')!r} :: {f.get('message')}"
    )


def _require_setup(run: dict[str, Any]) -> None:
    setup = run["setup"]
    assert setup.returncode == 0, (
        f"setup --erp d365_fo failed (exit {setup.returncode}); is the F&O connector built?\n"
        f"{setup.stdout[-2000:]}\n{setup.stderr[-2000:]}"
    )


def _fo_summary(log: list[dict[str, Any]]) -> list[str]:
    data = [e for e in log if e["path"].startswith("/data")]
    by_status: dict[int, int] = {}
    for e in data:
        by_status[e["status"]] = by_status.get(e["status"], 0) + 1
    sets = sorted({e["path"].split("/")[2].split("(")[0] for e in data
                   if len(e["path"].split("/")) > 2})
    tokens = sum(1 for e in log if e["path"].endswith("/token"))
    followed = sum(1 for e in data if "skiptoken" in e["query"])
    lines = [
        f"F&O: {len(data)} /data requests {by_status}; token requests: {tokens}",
        f"F&O entity sets read: {sets}",
        f"F&O nextLink pages followed: {followed}",
    ]
    for e in data:
        if e["status"] >= 400 and e["status"] != 429:
            lines.append(f"  F&O {e['status']}: {e['method']} {e['path']}?{e['query'][:400]}")
    return lines


def test_check_against_documented_fakes(world: scenario.World, check_run: dict[str, Any]) -> None:
    _require_setup(check_run)
    check, doc = check_run["check"], check_run["doc"]
    assert doc is not None, (
        f"check did not print JSON (exit {check.returncode}):\n"
        f"stdout:\n{check.stdout[:3000]}\nstderr:\n{check.stderr[-3000:]}\n"
        + "\n".join(_fo_summary(check_run["fo_log"]))
    )
    findings = doc.get("findings", [])
    delays = doc.get("delays", [])
    found: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for f in findings:
        found.setdefault((f.get("return_ref"), f.get("code")), []).append(f)
    truth = world.truth
    tp = set(found) & truth
    fp = set(found) - truth
    fn = truth - set(found)
    precision, recall = precision_recall(truth, set(found))

    by_ref: dict[str, list[dict[str, Any]]] = {}
    for f in findings + delays:
        by_ref.setdefault(f.get("return_ref"), []).append(f)
    lines = [
        f"exit code {check.returncode}; check took {check_run['elapsed']:.1f}s",
        f"platform: {doc.get('platform')}",
        f"erp: {doc.get('erp')}",
        f"returns_checked={doc.get('returns_checked')} findings={len(findings)} "
        f"delays={len(delays)}",
        f"PRECISION {precision:.3f} ({len(tp)}/{len(found)})   "
        f"RECALL {recall:.3f} ({len(tp)}/{len(truth)})",
        "",
        "FALSE POSITIVES (reported, not planted):",
    ]
    for pair in sorted(fp, key=str):
        for f in found[pair]:
            lines.append(f"  {pair[0]}: {_describe(f)}")
    lines.append("FALSE NEGATIVES (planted, not reported as a finding):")
    for pair in sorted(fn, key=str):
        lines.append(f"  {pair[0]} {pair[1]}  -- planted: {world.plant_notes[pair]}")
        for f in by_ref.get(pair[0], []):
            kind = "delay" if f.get("delay") else "finding"
            lines.append(f"      product said ({kind}): {_describe(f)}")
    lines.append("PLANTED (all):")
    for pair in sorted(truth, key=str):
        mark = "ok  " if pair in tp else "MISS"
        lines.append(f"  {mark} {pair[0]} {pair[1]}: {world.plant_notes[pair]}")
    lines += _fo_summary(check_run["fo_log"])
    lines.append(f"Swap paths requested: {sorted({e['path'] for e in check_run['swap_log']})}")
    if check.stderr.strip():
        lines.append("stderr (tail): " + check.stderr.strip()[-1500:])
    report = "\n".join(lines)
    print("\n" + report)

    assert doc.get("platform", {}).get("status") == "ok", report
    assert doc.get("erp", {}).get("status") == "ok", report
    assert precision == 1.0 and recall == 1.0, report


def test_a_disposition_code_the_company_lacks_is_said_not_guessed(
        world: scenario.World, check_run: dict[str, Any]) -> None:
    """The docs decided (docs/d365fo-mapping.md, "Independent check"): no code fits a line
    whose disposition code the legal entity does not define, so the read says so."""
    _require_setup(check_run)
    doc = check_run["doc"]
    assert doc is not None and world.unknown_disposition is not None
    ref, code = world.unknown_disposition
    notes = " ".join(doc.get("erp", {}).get("notes", []))
    assert code in notes and "not known" in notes, doc.get("erp")
    assert not [f for f in doc.get("findings", []) if f.get("return_ref") == ref]


def test_second_run_refreshes_and_agrees(check_run: dict[str, Any]) -> None:
    _require_setup(check_run)
    doc, doc2, check2 = check_run["doc"], check_run["doc2"], check_run["check2"]
    assert doc is not None, "the first check printed no JSON"
    assert doc2 is not None, (
        f"second check printed no JSON (exit {check2.returncode}): {check2.stderr[-2000:]}"
    )
    assert doc2.get("platform", {}).get("status") == "ok", doc2.get("platform")
    assert doc2.get("erp", {}).get("status") == "ok", doc2.get("erp")
    first = {(f.get("return_ref"), f.get("code")) for f in doc.get("findings", [])}
    second = {(f.get("return_ref"), f.get("code")) for f in doc2.get("findings", [])}
    print(
        f"\nsecond run: {len(check_run['fo_log2'])} F&O requests; "
        f"only first: {sorted(first - second)}; only second: {sorted(second - first)}"
    )
    assert first == second, (
        f"only in first run: {sorted(first - second)}; only in second: {sorted(second - first)}"
    )


def test_fo_reads_follow_the_documented_conventions(check_run: dict[str, Any]) -> None:
    """What the F&O fake saw: no request it had to refuse (400: query syntax, enum literal,
    unknown property; 401: token; 405: a write), paging followed, and each 429 retried (§3,
    §4.1). A 404 may be a probe (U1: V1 fall-back), so it is only listed in the report."""
    _require_setup(check_run)
    log = [e for e in check_run.get("fo_log", []) if e["path"].startswith("/data")]
    assert log, "the product made no /data request to the F&O fake"
    refused = [e for e in log if e["status"] in (400, 401, 405)]
    assert not refused, "\n".join(
        f"{e['status']} {e['method']} {e['path']}?{e['query']}" for e in refused)
    for i, e in enumerate(log):
        if e["status"] == 429:
            again = [x for x in log[i + 1:] if (x["path"], x["query"]) == (e["path"], e["query"])]
            assert again and again[0]["status"] == 200, f"429 not retried: {e}"
    assert any("skiptoken" in e["query"] for e in log), "no @odata.nextLink was followed"
