"""Dynamics 365 F&O conformance: records as docs/vendors/d365-fo.md §3.4 and §5 describe them
(PascalCase properties, enums by member name, negative return quantities, 1900-01-01 for a
blank date) through the connector's assembly (`FoConnector.assemble`), the lifecycle of its
§6, and the error bodies its §9 quotes.

Each case in cases/*.json gives the records each read answered (`rows`: by read name, as in
`FoConnector.reads`) and what the batch must hold. Microsoft publishes no return order
response body (§9: "Fixtures for those must be synthetic"): the records follow the
documented properties and encodings, the behaviours the cited sections. See
tests/conformance/checker.py.
"""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from returns_console.systems.d365_fo.connector import FoConnector, FoSettings, _error_text
from tests.conformance.checker import check, check_citation, load_cases, variants

CASES = load_cases(Path(__file__).parent / "cases")


@pytest.fixture(scope="module")
def connector() -> FoConnector:
    return FoConnector(FoSettings(base_url="https://contoso.operations.dynamics.com",
                                  tenant="contoso.onmicrosoft.com", client_id="client",
                                  client_secret="secret", company="usrt"))


def test_corpus_is_not_empty() -> None:
    assert len(CASES) >= 10


@pytest.mark.parametrize("case", CASES)
def test_fo_case(case: dict, connector: FoConnector) -> None:
    check_citation(case)
    failures: list[str] = []
    for name, data, expect in variants(case, "rows"):
        assert expect, f"{case['_file']} ({name}): no expectations"
        batch = connector.assemble(data, None)
        failures += check(batch, expect, name)
        if not any(path.startswith("problems") for path in expect) and batch.problems:
            failures.append(f"{name}: unexpected problems: {batch.problems}")
    assert not failures, "\n".join(failures)


def test_the_scope_is_the_environment_url_in_lower_case(connector: FoConnector) -> None:
    """§2.2: the token's audience is the environment URL, lower case, no trailing slash."""
    settings = FoSettings(base_url="https://Contoso.Operations.Dynamics.com/", tenant="t",
                          client_id="c", client_secret="s", company="USRT")
    assert settings.scope == "https://contoso.operations.dynamics.com/.default"
    # scheme and host in lower case: next links come back so, and are checked against it
    assert settings.service_root == "https://contoso.operations.dynamics.com/data/"
    assert settings.company == "usrt"  # dataAreaId in lower case (§1.2)


def test_every_read_names_the_legal_entity_across_companies(connector: FoConnector) -> None:
    """§1.2: a read sees the user's default company only, unless cross-company=true; with
    a dataAreaId filter it sees the one asked for. §3.1: lower-case operators."""
    from datetime import UTC, datetime
    for name, read in connector.reads(datetime(2026, 1, 1, tzinfo=UTC)).items():
        params = connector.params(read)
        assert params["cross-company"] == "true", name
        if read.company_field == "dataAreaId":
            assert params["$filter"].startswith("dataAreaId eq 'usrt'"), name
        assert " And " not in params.get("$filter", ""), name


def _response(status: int, body: str) -> httpx.Response:
    return httpx.Response(status, text=body, headers={"content-type": "application/json"},
                          request=httpx.Request("POST", "https://x/data/ReturnOrderHeadersV2"))


def test_a_write_failure_says_the_infolog_not_the_stack_trace() -> None:
    """§9 S9 (st203, a duplicate insert inside a changeset) and S10 (a validation failure):
    the text a person can act on is `innererror.message`; the stacktrace is never shown."""
    s9 = ('{"error":{"code":"","message":"An error has occurred.","innererror":{"message":'
          '"Write failed for table row of type \'CustCustomerGroupEntity\'. Infolog: Info: '
          'Cannot create a record in Customer groups (CustGroup). Customer group: Batch2, '
          'Batch 2 Test group T1.\\nThe record already exists..","type":"Microsoft.Dynamics.'
          'Platform.Integration.Services.OData.AxODataWriteException","stacktrace":"   at '
          'Microsoft.Dynamics.Platform.Integration.Services.OData.Update.UpdateProcessor.'
          'CreateEntity_Save(ChangeOperationContext context, ChangeInfo changeInfo)\\r\\n"}}}')
    said = _error_text(_response(500, s9))
    assert said is not None and said.startswith("Write failed for table row")
    assert "The record already exists" in said and "UpdateProcessor" not in said
    s10 = ('{"error":{"code":"","message":"An error has occurred.","innererror":{ "message":'
           '"Write failed for table row of type \'CustCustomerV3Entity\'. Infolog: Warning: The '
           'value \'Local\' in field \'Customer group\' is not found in the related table '
           '\'Customer groups\'.; Warning: validateField failed on field \'CustCustomerV3Entity.'
           'CustomerGroupId\'.", "type":"Microsoft.Dynamics.Platform.Integration.Services.OData.'
           'AxODataWriteException", "stacktrace":"   at Microsoft.Dynamics.Platform.Integration.'
           'Services.OData.Update.UpdateProcessor.CreateEntity_Save(...)"}}}')
    said = _error_text(_response(400, s10))
    assert said is not None and "'Local' in field 'Customer group' is not found" in said
    assert "CreateEntity_Save" not in said


def test_an_entra_error_is_its_first_line() -> None:
    """§9 S3: Entra's token error, without its trace and correlation ids."""
    s3 = ('{"error": "invalid_scope", "error_description": "AADSTS70011: The provided value '
          'for the input parameter \'scope\' is not valid. The scope https://foo.microsoft.com/'
          '.default is not valid.\\r\\nTrace ID: 255d1aef-8c98-452f-ac51-23d051240864\\r\\n'
          'Correlation ID: fb3d2015-bc17-4bb9-bb85-30c5cf1aaaa7\\r\\nTimestamp: 2016-01-09 '
          '02:02:12Z", "error_codes": [70011], "timestamp": "YYYY-MM-DD HH:MM:SSZ", "trace_id":'
          ' "255d1aef-8c98-452f-ac51-23d051240864", "correlation_id": '
          '"fb3d2015-bc17-4bb9-bb85-30c5cf1aaaa7"}')
    said = _error_text(_response(400, s3))
    assert said == ("invalid_scope: AADSTS70011: The provided value for the input parameter "
                    "'scope' is not valid. The scope https://foo.microsoft.com/.default is not "
                    "valid.")
