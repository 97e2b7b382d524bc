"""Auths that sign: NetSuite TBA (OAuth 1.0a, HMAC-SHA256) and a JWT client assertion.

The OAuth 1.0a answers are worked out here from RFC 5849's rules, written as literals, not
recomputed with the code under test; the JWTs are checked with the public key.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import re
from urllib.parse import parse_qs, quote

import httpx
import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

from returns_console.connectors.errors import AuthError
from returns_console.connectors.http import HttpClient, RetryPolicy
from returns_console.connectors.signing import (
    CLIENT_ASSERTION_TYPE,
    JwtClientAssertion,
    OAuth1Tba,
    base_string_uri,
    netsuite_realm,
    normalize_parameters,
    percent_encode,
    request_parameters,
    signature_base_string,
)

NO_WAIT = RetryPolicy(attempts=3, initial=0, maximum=0, jitter=0)
SUITEQL = ("https://1234567-sb1.suitetalk.api.netsuite.com/services/rest/query/v1/suiteql"
           "?limit=1000&offset=0")
TOKEN_URL = "https://1234567-sb1.suitetalk.api.netsuite.com/services/rest/auth/oauth2/v1/token"


async def _no_sleep(seconds: float) -> None:
    return None


def netsuite(handler, auth) -> HttpClient:
    return HttpClient("netsuite", "https://1234567-sb1.suitetalk.api.netsuite.com/services/rest",
                      auth=auth, transport=httpx.MockTransport(handler), retry=NO_WAIT,
                      sleep=_no_sleep)


def oauth_fields(header: str) -> list[tuple[str, str]]:
    assert header.startswith("OAuth ")
    return re.findall(r'([a-z_]+)="([^"]*)"', header)


# -- RFC 5849 building blocks -----------------------------------------------------------------


def test_percent_encoding_is_rfc3986_not_form_encoding() -> None:
    assert percent_encode("a b") == "a%20b"  # never "+"
    assert percent_encode("-._~") == "-._~"
    assert percent_encode("+*/=&%") == "%2B%2A%2F%3D%26%25"
    assert percent_encode("é") == "%C3%A9"


def test_rfc5849_parameter_normalization_example() -> None:
    """Section 3.4.1.3.2: a duplicate name sorted by value, `c%40` before `c2`, `%20`."""
    pairs = [("b5", "=%3D"), ("a3", "a"), ("c@", ""), ("a2", "r b"),
             ("oauth_consumer_key", "9djdj82h48djs9d2"), ("oauth_token", "kkk9d7dh3k39sjv7"),
             ("oauth_signature_method", "HMAC-SHA1"), ("oauth_timestamp", "137131201"),
             ("oauth_nonce", "7d8f3e4a"), ("c2", ""), ("a3", "2 q")]
    assert normalize_parameters(pairs) == (
        "a2=r%20b&a3=2%20q&a3=a&b5=%3D%253D&c%40=&c2=&oauth_consumer_key=9djdj82h48djs9d2"
        "&oauth_nonce=7d8f3e4a&oauth_signature_method=HMAC-SHA1&oauth_timestamp=137131201"
        "&oauth_token=kkk9d7dh3k39sjv7")


def test_rfc5849_base_string_example_from_a_request() -> None:
    """Section 3.4.1.1: the query and the form body are read off the request itself."""
    request = httpx.Request(
        "POST", "http://example.com/request?b5=%3D%253D&a3=a&c%40=&a2=r%20b",
        content=b"c2&a3=2+q", headers={"Content-Type": "application/x-www-form-urlencoded"})
    oauth = [("oauth_consumer_key", "9djdj82h48djs9d2"), ("oauth_token", "kkk9d7dh3k39sjv7"),
             ("oauth_signature_method", "HMAC-SHA1"), ("oauth_timestamp", "137131201"),
             ("oauth_nonce", "7d8f3e4a")]
    base = signature_base_string("post", request.url, request_parameters(request) + oauth)
    assert base == (
        "POST&http%3A%2F%2Fexample.com%2Frequest&a2%3Dr%2520b%26a3%3D2%2520q"
        "%26a3%3Da%26b5%3D%253D%25253D%26c%2540%3D%26c2%3D%26oauth_consumer_"
        "key%3D9djdj82h48djs9d2%26oauth_nonce%3D7d8f3e4a%26oauth_signature_m"
        "ethod%3DHMAC-SHA1%26oauth_timestamp%3D137131201%26oauth_token%3Dkkk"
        "9d7dh3k39sjv7")


def test_a_json_body_is_not_signed() -> None:
    request = httpx.Request("POST", "https://h.test/q?limit=5", json={"q": "SELECT 1"})
    assert request_parameters(request) == [("limit", "5")]


@pytest.mark.parametrize(("url", "expected"), [
    ("https://Example.COM:443/a/b?x=1#frag", "https://example.com/a/b"),
    ("http://example.com:80/r%20v/X?id=123", "http://example.com/r%20v/X"),
    ("https://example.com:8443/", "https://example.com:8443/"),
    ("http://example.com", "http://example.com/"),
])
def test_base_string_uri(url: str, expected: str) -> None:
    assert base_string_uri(url) == expected


def test_netsuite_realm_from_the_account_id() -> None:
    assert netsuite_realm("1234567-sb1") == "1234567_SB1"
    assert netsuite_realm("1234567") == "1234567"


# -- NetSuite TBA -----------------------------------------------------------------------------


def tba(**kw) -> OAuth1Tba:
    kw.setdefault("clock", lambda: 1700000000.9)
    kw.setdefault("nonce", lambda: "n0nce1234")
    return OAuth1Tba("1234567-sb1", "ck-test", kw.pop("consumer_secret", "cs-test"),
                     "tok-test", kw.pop("token_secret", "ts-test"), **kw)


def expected_signature(base: str, key: str) -> str:
    digest = hmac.new(key.encode(), base.encode(), hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


SUITEQL_BASE = (
    "&https%3A%2F%2F1234567-sb1.suitetalk.api.netsuite.com%2Fservices%2Frest%2Fquery%2Fv1"
    "%2Fsuiteql&limit%3D1000%26oauth_consumer_key%3Dck-test%26oauth_nonce%3Dn0nce1234"
    "%26oauth_signature_method%3DHMAC-SHA256%26oauth_timestamp%3D1700000000"
    "%26oauth_token%3Dtok-test%26oauth_version%3D1.0%26offset%3D0")


def test_tba_signs_a_suiteql_get_with_the_known_answer() -> None:
    request = httpx.Request("GET", SUITEQL)
    tba().sign(request)
    header = request.headers["Authorization"]
    signature = expected_signature("GET" + SUITEQL_BASE, "cs-test&ts-test")
    assert oauth_fields(header) == [
        ("realm", "1234567_SB1"), ("oauth_consumer_key", "ck-test"),
        ("oauth_token", "tok-test"), ("oauth_signature_method", "HMAC-SHA256"),
        ("oauth_timestamp", "1700000000"), ("oauth_nonce", "n0nce1234"),
        ("oauth_version", "1.0"), ("oauth_signature", quote(signature, safe="")),
    ]
    assert header.startswith('OAuth realm="1234567_SB1", oauth_consumer_key="ck-test", ')


def test_tba_post_with_a_json_body_signs_method_and_url_only() -> None:
    request = httpx.Request("POST", SUITEQL, json={"q": "SELECT id FROM transaction"},
                            headers={"Prefer": "transient"})
    tba().sign(request)
    fields = dict(oauth_fields(request.headers["Authorization"]))
    assert fields["oauth_signature"] == quote(
        expected_signature("POST" + SUITEQL_BASE, "cs-test&ts-test"), safe="")


def test_tba_key_encodes_both_secrets() -> None:
    request = httpx.Request("GET", SUITEQL)
    tba(consumer_secret="c&s +", token_secret="t/s=").sign(request)
    fields = dict(oauth_fields(request.headers["Authorization"]))
    assert fields["oauth_signature"] == quote(
        expected_signature("GET" + SUITEQL_BASE, "c%26s%20%2B&t%2Fs%3D"), safe="")


def test_tba_realm_given_is_used_and_secrets_stay_in() -> None:
    auth = tba(realm="TSTDRV99")
    request = httpx.Request("GET", SUITEQL)
    auth.sign(request)
    assert request.headers["Authorization"].startswith('OAuth realm="TSTDRV99", ')
    assert "cs-test" not in repr(auth) and "ts-test" not in repr(auth)
    assert {"cs-test", "ts-test", "ck-test", "tok-test"} <= set(auth.secrets())


async def test_httpclient_signs_every_attempt_afresh_over_the_url_sent() -> None:
    nonces = iter(["nonce-one", "nonce-two"])
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(503 if len(seen) == 1 else 200, json={"items": []})

    auth = tba(nonce=lambda: next(nonces))
    async with netsuite(handler, auth) as http:
        await http.get_json("/query/v1/suiteql", params={"limit": 1000, "offset": 0})
    assert len(seen) == 2 and str(seen[0].url) == SUITEQL
    for request, nonce in zip(seen, ["nonce-one", "nonce-two"], strict=True):
        fields = dict(oauth_fields(request.headers["Authorization"]))
        assert fields["oauth_nonce"] == nonce
        base = "GET" + SUITEQL_BASE.replace("n0nce1234", nonce)
        assert fields["oauth_signature"] == quote(expected_signature(base, "cs-test&ts-test"),
                                                  safe="")


class RecordingSigner:
    """Headers first, then `sign` with them in place; never for an unauthenticated call."""

    def __init__(self) -> None:
        self.signed: list[str | None] = []

    async def headers(self, http):
        return {"X-Client": "console"}

    async def refresh(self, http):
        return False

    def secrets(self):
        return []

    def sign(self, request: httpx.Request) -> None:
        self.signed.append(request.headers.get("X-Client"))
        request.headers["X-Signature"] = f"sig-{len(self.signed)}"


async def test_sign_runs_after_the_headers_and_only_when_authenticating() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={})

    auth = RecordingSigner()
    async with netsuite(handler, auth) as http:
        await http.get_json("/record/v1/customer")
        await http.request("GET", "/public", authenticate=False)
    assert auth.signed == ["console"]
    assert seen[0].headers["X-Signature"] == "sig-1"
    assert "X-Signature" not in seen[1].headers


# -- JWT client assertion ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="module")
def pem(rsa_key: rsa.RSAPrivateKey) -> str:
    return rsa_key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                 serialization.NoEncryption()).decode()


def unb64(part: str) -> bytes:
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


def verified(jwt: str, key: rsa.RSAPrivateKey) -> tuple[dict, dict]:
    """The JWT's header and claims, after checking its signature with the public key."""
    head, body, signature = jwt.split(".")
    header = json.loads(unb64(head))
    scheme = (padding.PKCS1v15() if header["alg"] == "RS256" else
              padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=32))
    key.public_key().verify(unb64(signature), f"{head}.{body}".encode(), scheme,
                            hashes.SHA256())  # raises InvalidSignature if it does not verify
    return header, json.loads(unb64(body))


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def jwt_auth(pem: str, **kw) -> JwtClientAssertion:
    kw.setdefault("key_id", "cert-id-42")
    kw.setdefault("clock", Clock(1700000000.0))
    return JwtClientAssertion(TOKEN_URL, "client-xyz", pem, **kw)


@pytest.mark.parametrize("algorithm", ["RS256", "PS256"])
def test_the_assertion_is_signed_and_carries_every_claim(algorithm, rsa_key, pem) -> None:
    auth = jwt_auth(pem, algorithm=algorithm, lifetime=300)
    first, second = auth.assertion(), auth.assertion()
    header, claims = verified(first, rsa_key)
    assert header == {"alg": algorithm, "typ": "JWT", "kid": "cert-id-42"}
    assert claims.pop("jti") != verified(second, rsa_key)[1]["jti"]
    assert claims == {"iss": "client-xyz", "sub": "client-xyz", "aud": TOKEN_URL,
                      "iat": 1700000000, "exp": 1700000300}


def test_audience_and_scope_in_the_assertion(rsa_key, pem) -> None:
    auth = jwt_auth(pem, audience="https://aud.test", scope="restlets,rest_webservices",
                    scope_in="assertion")
    _, claims = verified(auth.assertion(), rsa_key)
    assert claims["aud"] == "https://aud.test"
    assert claims["scope"] == "restlets,rest_webservices"
    assert "scope" not in auth.token_form("x.y.z")


def token_endpoint(calls: list[dict], tokens: list[str], api_ok=lambda auth: True):
    def handler(request: httpx.Request) -> httpx.Response:
        if str(request.url) == TOKEN_URL:
            assert request.headers["content-type"] == "application/x-www-form-urlencoded"
            calls.append(parse_qs(request.content.decode()))
            return httpx.Response(200, json={"access_token": tokens.pop(0), "expires_in": 3600,
                                             "token_type": "Bearer"})
        return httpx.Response(200 if api_ok(request.headers["Authorization"]) else 401,
                              json={"items": []})

    return handler


async def test_the_token_request_and_the_token_cached_until_shortly_before_expiry(
        rsa_key, pem) -> None:
    clock = Clock(1700000000.0)
    calls: list[dict] = []
    api: list[str] = []
    tokens = ["tok-1", "tok-2"]

    def handler(request: httpx.Request) -> httpx.Response:
        if str(request.url) != TOKEN_URL:
            api.append(request.headers["Authorization"])
        return token_endpoint(calls, tokens)(request)

    auth = jwt_auth(pem, clock=clock, scope="rest_webservices")
    async with netsuite(handler, auth) as http:
        await http.get_json("/record/v1/customer")
        clock.now += 3600 - 61  # still inside the token's life, less the leeway
        await http.get_json("/record/v1/customer")
        clock.now += 2
        await http.get_json("/record/v1/customer")
    assert api == ["Bearer tok-1", "Bearer tok-1", "Bearer tok-2"]
    assert len(calls) == 2
    form = calls[0]
    assert set(form) == {"grant_type", "client_assertion_type", "client_assertion", "scope"}
    assert form["grant_type"] == ["client_credentials"]
    assert form["client_assertion_type"] == [CLIENT_ASSERTION_TYPE]
    assert form["scope"] == ["rest_webservices"]
    _, claims = verified(form["client_assertion"][0], rsa_key)
    _, later = verified(calls[1]["client_assertion"][0], rsa_key)
    assert later["iat"] == claims["iat"] + 3600 - 59 and later["jti"] != claims["jti"]
    assert pem not in repr(auth)


async def test_a_401_fetches_exactly_one_new_token(pem) -> None:
    calls: list[dict] = []
    api: list[str] = []
    tokens = ["expired", "fresh", "third"]

    def ok(authorization: str) -> bool:
        api.append(authorization)
        return authorization == "Bearer fresh"

    auth = jwt_auth(pem)
    async with netsuite(token_endpoint(calls, tokens, ok), auth) as http:
        await http.get_json("/record/v1/customer")
        await http.get_json("/record/v1/customer")
    assert len(calls) == 2
    assert api == ["Bearer expired", "Bearer fresh", "Bearer fresh"]
    assert "fresh" in auth.secrets() and pem in auth.secrets()


def key_fragments(pem: str, size: int = 16) -> list[str]:
    body = "".join(line for line in pem.splitlines() if not line.startswith("-----"))
    return [body[i:i + size] for i in range(len(body) - size + 1)]


@pytest.mark.parametrize("echo", ["json", "text"])
async def test_a_token_error_never_repeats_the_private_key(echo, pem) -> None:
    """A token endpoint (or a proxy before it) that echoes what it got, key and all: the
    error says what went wrong and holds no part of the key or the assertion."""
    sent: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        sent.append(parse_qs(request.content.decode())["client_assertion"][0])
        if echo == "json":  # line breaks escaped, and the parser keeps 200 characters
            return httpx.Response(400, json={"error": "invalid_request",
                                             "error_description": f"bad key {pem}"})
        return httpx.Response(400, text=f"invalid_request: bad key {pem} for {sent[0]}")

    async with netsuite(handler, jwt_auth(pem)) as http:
        with pytest.raises(AuthError) as caught:  # RFC 6749 §5.2: a 400 is its refusal
            await http.get_json("/record/v1/customer")
    text = str(caught.value)
    assert "refused the signed assertion" in text and "invalid_request" in text
    assert "BEGIN PRIVATE KEY" in text  # the echo is there, and masked after it
    assert sent[0] not in text
    assert not [f for f in key_fragments(pem) if f in text]
    assert not caught.value.retryable


async def test_a_token_endpoint_400_is_a_refusal_said_once_with_its_oauth_error(pem) -> None:
    """RFC 6749 §5.2: the token endpoint answers what it does not accept with 400 and an
    OAuth error; the parallel requests of a read are told the refusal, not sent again."""
    calls: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request.url.path)
        return httpx.Response(400, json={"error": "invalid_grant",
                                         "error_description": "Invalid assertion"})

    async with netsuite(handler, jwt_auth(pem)) as http:
        results = await asyncio.gather(*(http.get_json("/record/v1/customer")
                                         for _ in range(4)), return_exceptions=True)
    assert all(isinstance(r, AuthError) for r in results)
    text = str(results[0])
    assert "refused the signed assertion" in text
    assert text.endswith("(it said: invalid_grant: Invalid assertion)")
    assert calls == ["/services/rest/auth/oauth2/v1/token"]


async def test_a_refused_assertion_is_a_clear_auth_error(pem) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(401, json={"error": "invalid_client", "key": pem})

    async with netsuite(handler, jwt_auth(pem)) as http:
        with pytest.raises(AuthError) as caught:
            await http.get_json("/record/v1/customer")
    assert "refused the signed assertion" in str(caught.value)
    assert not [f for f in key_fragments(pem) if f in str(caught.value)]


def test_a_key_that_cannot_sign_is_refused_without_quoting_it(pem) -> None:
    broken = pem.replace("A", "%")
    with pytest.raises(ValueError) as caught:
        jwt_auth(broken)
    assert broken not in str(caught.value) and "PEM" in str(caught.value)
    with pytest.raises(ValueError, match="not one a JWT signs with"):
        jwt_auth(pem_of(ec.generate_private_key(ec.SECP256K1())))
    with pytest.raises(ValueError, match="neither an RSA nor an EC key"):
        jwt_auth(pem_of(ed25519.Ed25519PrivateKey.generate()))
    with pytest.raises(ValueError, match="unsupported JWT algorithm"):
        jwt_auth(pem, algorithm="HS256")
    with pytest.raises(ValueError, match="signs ES256, not ES384"):
        jwt_auth(pem_of(ec.generate_private_key(ec.SECP256R1())), algorithm="ES384")


def pem_of(key) -> str:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption()).decode()


def test_an_rsa_key_signs_ps256_unless_told() -> None:
    assert jwt_auth(pem_of(rsa.generate_private_key(65537, 2048))).algorithm == "PS256"


@pytest.mark.parametrize(("curve", "algorithm", "digest", "size"), [
    (ec.SECP256R1, "ES256", hashes.SHA256, 32), (ec.SECP384R1, "ES384", hashes.SHA384, 48),
    (ec.SECP521R1, "ES512", hashes.SHA512, 66)])
def test_an_ec_key_signs_es_by_its_curve_with_r_and_s_as_jws_writes_them(
        curve, algorithm, digest, size) -> None:
    """NetSuite maps EC certificates on P-256, P-384 and P-521 (netsuite.md §2.2); a JWS
    ECDSA signature is r then s, each as wide as the curve, not DER (RFC 7518 §3.4)."""
    key = ec.generate_private_key(curve())
    assertion = jwt_auth(pem_of(key)).assertion()
    head, body, signature = assertion.split(".")
    assert json.loads(unb64(head))["alg"] == algorithm
    raw = unb64(signature)
    assert len(raw) == 2 * size
    der = encode_dss_signature(int.from_bytes(raw[:size], "big"),
                               int.from_bytes(raw[size:], "big"))
    key.public_key().verify(der, f"{head}.{body}".encode(), ec.ECDSA(digest()))
