"""Independent check: the product's real CLI against fakes of Swap Returns API v2 and Business
Central API v2.0 built from the vendors' documentation, scored against planted truth.

Run:  .venv/bin/python -m pytest tests/independent -q -s
(``-s`` shows the scoring table even when the test passes.)
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
from . import fake_bc, fake_swap, scenario

PROFILE = "harbour"


@pytest.fixture(scope="module")
def world() -> scenario.World:
    return scenario.build_world()


@pytest.fixture(scope="module")
def check_run(world: scenario.World, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    home = tmp_path_factory.mktemp("rc_home")
    # never the user's OS keyring: secrets come from the environment, as the README allows
    env = cli_env(home, {PROFILE: {"api_key": scenario.API_KEY,
                                   "client_secret": scenario.CLIENT_SECRET}})
    swap_app = fake_swap.make_app(world)
    bc_app = fake_bc.make_app(world)
    with _Server(swap_app) as swap, _Server(bc_app) as bc:
        bc_base = f"http://127.0.0.1:{bc.port}"
        setup = run_cli(
            [
                "setup",
                "--profile",
                PROFILE,
                "--platform",
                "swap",
                "--platform-url",
                f"http://127.0.0.1:{swap.port}/returns-api",
                "--platform-option",
                f"store={scenario.STORE_ID}",
                "--platform-option",
                "api_version=2",
                "--erp",
                "d365_bc",
                "--erp-url",
                bc_base,
                "--erp-option",
                f"tenant={scenario.TENANT}",
                "--erp-option",
                f"environment={scenario.ENVIRONMENT}",
                "--erp-option",
                f"client_id={scenario.CLIENT_ID}",
                "--erp-option",
                f"company={scenario.COMPANY}",
                "--erp-option",
                f"token_url={bc_base}/{scenario.TENANT}/oauth2/v2.0/token",
                "--default",
            ],
            env,
        )
        assert setup.returncode == 0, (
            f"setup failed ({setup.returncode}):\n{setup.stdout}\n{setup.stderr}"
        )

        # the profile's mapping table, where the product keeps it (data_dir/mappings/<profile>.json)
        locate = run_cli(["locate"], env)
        data_dir = next(
            (
                ln.split(":", 1)[1].strip()
                for ln in locate.stdout.splitlines()
                if ln.startswith("data_dir:")
            ),
            str(home / "data"),
        )
        mdir = Path(data_dir) / "mappings"
        mdir.mkdir(parents=True, exist_ok=True)
        (mdir / f"{PROFILE}.json").write_text(json.dumps(world.mappings, indent=2))

        started = time.monotonic()
        check = run_cli(
            ["check", "--profile", PROFILE, "--format", "json", "--now", scenario.NOW_ISO], env
        )
        elapsed = time.monotonic() - started
        swap_log = list(swap_app.state.log)
        bc_log = list(bc_app.state.log)
        # a second check reads only what changed (README: Business Central reads in one $batch)
        # and lays it over the cache; nothing changed, so it must say the same
        check2 = run_cli(
            ["check", "--profile", PROFILE, "--format", "json", "--now", scenario.NOW_ISO], env
        )
        bc_log2 = list(bc_app.state.log)[len(bc_log) :]
    try:
        doc = json.loads(check.stdout)
    except json.JSONDecodeError:
        doc = None
    dump = os.environ.get("RC_INDEPENDENT_DUMP")  # optional: keep the product's JSON for reading
    if dump:
        Path(dump).write_text(check.stdout)
    try:
        doc2 = json.loads(check2.stdout)
    except json.JSONDecodeError:
        doc2 = None
    return {
        "check": check,
        "doc": doc,
        "elapsed": elapsed,
        "swap_log": swap_log,
        "bc_log": bc_log,
        "check2": check2,
        "doc2": doc2,
        "bc_log2": bc_log2,
    }


def _describe(f: dict[str, Any]) -> str:
    return (
        f"{f.get('code')} [{f.get('stage')}/{f.get('severity')}] "
        f"platform={f.get('platform_value')!r} erp={f.get('erp_value')!r} :: {f.get('message')}"
    )


def test_check_against_documented_fakes(world: scenario.World, check_run: dict[str, Any]) -> None:
    check = check_run["check"]
    doc = check_run["doc"]
    assert doc is not None, (
        f"check did not print JSON (exit {check.returncode}):\n"
        f"stdout:\n{check.stdout[:3000]}\nstderr:\n{check.stderr[-3000:]}"
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
    swap_paths = sorted({e["path"] for e in check_run["swap_log"]})
    bc_404 = [e for e in check_run["bc_log"] if e.get("status") == 404]
    lines.append(
        f"Swap paths requested: {swap_paths}; BC requests: {len(check_run['bc_log'])}"
        f" (404s: {len(bc_404)})"
    )
    if check.stderr.strip():
        lines.append("stderr (tail): " + check.stderr.strip()[-1500:])
    report = "\n".join(lines)
    print("\n" + report)

    assert doc.get("platform", {}).get("status") == "ok", report
    assert doc.get("erp", {}).get("status") == "ok", report
    assert precision == 1.0 and recall == 1.0, report


def test_second_run_reads_incrementally_and_agrees(check_run: dict[str, Any]) -> None:
    doc, doc2, check2 = check_run["doc"], check_run["doc2"], check_run["check2"]
    assert doc is not None
    assert doc2 is not None, (
        f"second check printed no JSON (exit {check2.returncode}): {check2.stderr[-2000:]}"
    )
    assert doc2.get("platform", {}).get("status") == "ok", doc2.get("platform")
    assert doc2.get("erp", {}).get("status") == "ok", doc2.get("erp")
    first = {(f.get("return_ref"), f.get("code")) for f in doc.get("findings", [])}
    second = {(f.get("return_ref"), f.get("code")) for f in doc2.get("findings", [])}
    batch_used = any(e.get("path", "").endswith("$batch") for e in check_run["bc_log2"])
    print(
        f"\nsecond run: {len(check_run['bc_log2'])} BC requests, $batch used: {batch_used}; "
        f"only first: {sorted(first - second)}; only second: {sorted(second - first)}"
    )
    assert first == second, (
        f"only in first run: {sorted(first - second)}; only in second: {sorted(second - first)}"
    )
