"""NetSuite's two ways in (docs/vendors/netsuite.md §2.2, §2.3), each through the connector
against the simulated account: OAuth 2.0 client credentials with a certificate's key (RSA
signs PS256, EC signs ES256/384/512 by its curve) and Token-Based Authentication (the
`auth` option: OAuth 1.0a HMAC-SHA256, a signature per request, no token endpoint)."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from returns_console.config import option_problems, secret_names
from returns_console.connectors.errors import AuthError
from returns_console.connectors.http import CallLog
from returns_console.services.connections import open_erp
from returns_console.systems.netsuite.simulator_auth import DEMO_TBA, TbaCheck
from tests.contracts import kit


@pytest.fixture
def box():
    return kit.sandbox("shopify", "netsuite")


def with_erp_options(box, **options):
    profile = box.profile(kit.IN_PROCESS)
    return kit.tuned(profile, netsuite=options)


def read(box, profile, lookup, log: CallLog):
    async def go():
        erp = open_erp(profile, lookup, log, kit.in_process(box))
        try:
            return await erp.fetch_records()
        finally:
            await erp.aclose()
    return asyncio.run(go())


def tba_lookup(box, **override: str):
    secrets = {**DEMO_TBA, **override}
    return lambda system, name: secrets.get(name) or box.secret(system, name)


def test_a_tba_profile_signs_every_request_and_buys_no_token(box) -> None:
    profile = with_erp_options(box, auth="tba")
    log = CallLog()
    batch = read(box, profile, tba_lookup(box), log)
    assert batch.views and not batch.problems
    calls = [c for c in log if c.system == "netsuite"]
    assert calls and not any("oauth2" in c.url for c in calls)
    assert box.erp.token_requests == 0


def test_tba_asks_for_its_four_secrets_and_not_the_key(box) -> None:
    profile = with_erp_options(box, auth="tba")
    names = [n for system, n in secret_names(profile) if system == "netsuite"]
    assert names == ["consumer_key", "consumer_secret", "token_id", "token_secret"]
    m2m = [n for system, n in secret_names(box.profile(kit.IN_PROCESS)) if system == "netsuite"]
    assert m2m == ["private_key"]


def test_a_wrong_token_secret_is_refused_in_one_line_without_the_secrets(box) -> None:
    profile = with_erp_options(box, auth="tba")
    wrong = "not-the-token-secret-0000"
    with pytest.raises(AuthError) as caught:
        read(box, profile, tba_lookup(box, token_secret=wrong), CallLog())
    text = str(caught.value)
    assert "\n" not in text
    assert all(v not in text for v in (*DEMO_TBA.values(), wrong))


def test_m2m_needs_its_client_and_certificate_ids_tba_does_not() -> None:
    assert option_problems("netsuite", {"account_id": "123456"}) == [
        "NetSuite needs option client_id", "NetSuite needs option certificate_id"]
    assert option_problems("netsuite", {"account_id": "123456", "auth": "tba"}) == []
    assert option_problems("netsuite", {"account_id": "123456", "auth": "m2m"},
                           missing=False) == []


def test_the_account_refuses_a_nonce_twice_and_a_stale_timestamp() -> None:
    """§2.3: one fresh nonce per request, a timestamp near the server's clock."""
    from returns_console.connectors.signing import OAuth1Tba

    url = "https://1234567-sb1.suitetalk.api.netsuite.com/services/rest/query/v1/suiteql"
    check = TbaCheck("1234567_SB1", clock=lambda: 1_700_000_000.0)

    def signed(at: float, nonce: str) -> str:
        request = httpx.Request("POST", url, json={"q": "SELECT 1"})
        OAuth1Tba("1234567-sb1", DEMO_TBA["consumer_key"], DEMO_TBA["consumer_secret"],
                  DEMO_TBA["token_id"], DEMO_TBA["token_secret"], clock=lambda: at,
                  nonce=lambda: nonce).sign(request)
        return request.headers["Authorization"]

    assert check.refusal("POST", url, signed(1_700_000_000.0, "abc123")) is None
    assert check.refusal("POST", url, signed(1_700_000_000.0, "abc123")) == (
        "this nonce was used already")
    assert "too far" in str(check.refusal("POST", url, signed(1_699_990_000.0, "def456")))
    assert check.refusal("GET", url, signed(1_700_000_000.0, "ghi789")) == (
        "the signature does not match")


@pytest.mark.parametrize(("curve", "alg"), [(ec.SECP256R1, "ES256"), (ec.SECP384R1, "ES384")])
def test_an_ec_certificate_signs_the_assertion_es_by_its_curve(box, curve, alg) -> None:
    """§2.2: EC keys of 256, 384 or 521 bits may be mapped; the JWT is signed ES256..."""
    key = ec.generate_private_key(curve())
    box.erp.certificates["EcCertificate0001"] = key.public_key()
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption()).decode()
    profile = with_erp_options(box, certificate_id="EcCertificate0001")
    log = CallLog()
    lookup = lambda system, name: pem if name == "private_key" else box.secret(system, name)  # noqa: E731
    batch = read(box, profile, lookup, log)
    assert batch.views and box.erp.token_requests == 1
    assert open_erp(profile, lookup, CallLog(), kit.in_process(box)).auth.algorithm == alg
    # the same key under the RSA certificate's id does not pass
    box2 = kit.sandbox("shopify", "netsuite")
    with pytest.raises(AuthError):
        read(box2, with_erp_options(box2), lookup, CallLog())


def echo_app(check: TbaCheck):
    """The account's TBA check behind a Mount, as the sandbox serves it: answers 200 with
    None when the signature holds, else 401 with why."""
    from starlette.applications import Starlette
    from starlette.responses import JSONResponse
    from starlette.routing import Mount, Route

    from returns_console.systems.netsuite.simulator_auth import signed_url

    async def endpoint(request):
        why = check.refusal(request.method, signed_url(request),
                            request.headers.get("authorization", ""))
        return JSONResponse({"why": why}, status_code=200 if why is None else 401)

    inner = Starlette(routes=[Route("/{rest:path}", endpoint, methods=["GET", "POST"])])
    return Starlette(routes=[Mount("/netsuite", app=inner)])


@pytest.mark.parametrize(("path", "params"), [
    ("/services/rest/record/v1/creditMemo/eid:rc-R_1-abc", {}),
    ("/services/rest/record/v1/a%20b/%C3%A9", {}),
    ("/services/rest/query/v1/suiteql", {"q": "a b+c%d é", "limit": "5", "x": ["2", "1"]}),
])
def test_the_account_and_the_signer_agree_on_encoded_paths_and_queries(path, params) -> None:
    """RFC 5849 §3.4.1.2-3: the path as sent, the query's values decoded then encoded again,
    duplicate names sorted by value; the simulated account reads the URL as it arrived."""
    from returns_console.connectors.http import HttpClient
    from returns_console.connectors.signing import OAuth1Tba

    async def go() -> int:
        auth = OAuth1Tba("1234567_SB1", DEMO_TBA["consumer_key"], DEMO_TBA["consumer_secret"],
                         DEMO_TBA["token_id"], DEMO_TBA["token_secret"])
        transport = httpx.ASGITransport(app=echo_app(TbaCheck("1234567_SB1")))
        async with HttpClient("netsuite", "http://sandbox.test:8080/netsuite", auth=auth,
                              transport=transport) as http:
            response = await http.request("GET", path, params=params)
            return response.status_code

    assert asyncio.run(go()) == 200


def test_a_refused_tba_request_is_tried_once_more_and_then_names_the_causes() -> None:
    """§2.3/§7.3: under load NetSuite may refuse a TBA request as a login failure; one retry
    after a pause, then an error naming credentials, clock and concurrency, and never a
    secret, even when the body echoes the header."""
    from returns_console.connectors.http import HttpClient
    from returns_console.connectors.signing import OAuth1Tba

    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers["Authorization"])
        return httpx.Response(401, json={"o:errorDetails": [{
            "detail": f"Invalid login attempt: {request.headers['Authorization']} "
                      f"{DEMO_TBA['token_secret']}", "o:errorCode": "INVALID_LOGIN"}]})

    waits: list[float] = []

    async def sleep(seconds: float) -> None:
        waits.append(seconds)

    async def go() -> None:
        auth = OAuth1Tba("1234567_SB1", *DEMO_TBA.values())
        async with HttpClient("netsuite", "https://x.test", auth=auth, sleep=sleep,
                              transport=httpx.MockTransport(handler)) as http:
            await http.request("GET", "/services/rest/query/v1/suiteql")

    with pytest.raises(AuthError) as caught:
        asyncio.run(go())
    assert len(seen) == 2 and seen[0] != seen[1] and waits  # a fresh nonce, after a pause
    text = str(caught.value)
    assert "clock" in text and "at once" in text and "\n" not in text
    assert all(v not in text for v in DEMO_TBA.values())


def test_a_tba_secret_on_an_m2m_profile_says_which_option_it_belongs_to(box) -> None:
    from returns_console.config import looks_secret
    from returns_console.errors import UserError
    from returns_console.services.profiles import check_secret_names

    with pytest.raises(UserError) as caught:
        check_secret_names(box.profile(kit.IN_PROCESS), ["consumer_key"])
    assert "--erp-option auth=tba" in str(caught.value)
    check_secret_names(with_erp_options(box, auth="tba"), ["consumer_key", "token_secret"])
    # a secret's name is never taken as an option (it would be written to the config file)
    assert looks_secret("consumer_key") and looks_secret("private_key")
