"""NetSuite conformance: SuiteQL rows as docs/vendors/netsuite.md §3.3 describes them (text
values, 'T'/'F', lower-case keys, a NULL column left out) through the connector's assembly
(`NetSuiteConnector.assemble`), and the lifecycle its §4-§5 give.

Each case in cases/*.json gives the rows each query answered (`rows`: by query name, as in
`connector.fetch_records`) and what the batch must hold (`views.<link>...`,
`master...`, `problems.<link>...`), and optionally the profile's mapping options
(`mapping`) where the docs leave a fact to the account. Oracle's pages show no full
SuiteQL answer for these tables (netsuite.md §8: "Fixtures for those must be synthetic"):
the rows follow the documented columns and shapes, the behaviours the cited sections. See
tests/conformance/checker.py.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from returns_console.systems.netsuite.connector import NetSuiteConnector, NetSuiteSettings
from returns_console.systems.netsuite.mapping import MappingSettings
from returns_console.systems.netsuite.simulator import demo_key_pem
from tests.conformance.checker import check, check_citation, load_cases, variants

CASES = load_cases(Path(__file__).parent / "cases")


def _connector(**mapping: object) -> NetSuiteConnector:
    return NetSuiteConnector(NetSuiteSettings(
        base_url="https://1234567.suitetalk.api.netsuite.com", account_id="1234567",
        client_id="client", certificate_id="cert", private_key=demo_key_pem(),
        mapping=MappingSettings(**mapping)))  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def connector() -> NetSuiteConnector:
    return _connector()


def test_corpus_is_not_empty() -> None:
    assert len(CASES) >= 8


@pytest.mark.parametrize("case", CASES)
def test_netsuite_case(case: dict, connector: NetSuiteConnector) -> None:
    check_citation(case)
    failures: list[str] = []
    for name, data, expect in variants(case, "rows"):
        assert expect, f"{case['_file']} ({name}): no expectations"
        rows = {k: [{c: v for c, v in r.items() if c != "links"} for r in found]
                for k, found in data.items()}
        # a case may set profile options the mapping reads (`mapping`: the docs leave them)
        reader = _connector(**case["mapping"]) if case.get("mapping") else connector
        batch = reader.assemble(rows, None)
        failures += check(batch, expect, name)
        if not any(path.startswith("problems") for path in expect) and batch.problems:
            failures.append(f"{name}: unexpected problems: {batch.problems}")
    assert not failures, "\n".join(failures)
