"""Independent check of the product's two ways to authenticate to NetSuite, written from the
README ("Against the real Shopify and NetSuite", the option table's ``auth`` row),
docs/vendors/netsuite.md §2.1-§2.3 and §7, Oracle's Help Center and RFC 5849 / RFC 7518.

The fake NetSuite (fake_netsuite.py) verifies, as Oracle documents:
  * M2M: the client assertion's signature against the PUBLIC key of the certificate mapped under
    its ``kid`` (PS256/384/512 for RSA, ES256/384/512 for EC P-256/384/521 with r||s signatures);
  * TBA: ``Authorization: OAuth realm=...`` with an HMAC-SHA256 signature over the RFC 5849
    §3.4.1 base string, key enc(consumer secret)&enc(token secret), the realm the account id, a
    nonce used once, a timestamp within 300 s of the fake's clock.

Part 1 checks the fake itself (no product): Oracle's REST signing sample, RFC 5849's base-string
example, and every refusal. Part 2 runs the product's real CLI (``setup`` then ``check``, as
test_shopify_netsuite.py does) against the fakes, one scenario, each check once:
  A. ``auth=tba`` with the four secrets: precision and recall 1.0; only TBA-signed requests,
     no token request;
  B. ``auth=tba`` with a wrong token secret, fresh home (nothing cached): the check fails with a
     one-line error naming NetSuite, never "all clear", no secret printed;
  C. ``auth=m2m`` (default) with an EC P-256 private key, the fake's certificate mapped to its
     public key: precision and recall 1.0, the assertion's alg ES256;
  D. C's home again (its cache present) with another P-256 key, which does not match the mapped
     certificate: not "all clear" (NetSuite's data stale, never ok), the error names NetSuite,
     no secret printed.

Run:  .venv/bin/python -m pytest tests/independent/shopify_netsuite -q -n 0
"""

from __future__ import annotations

import base64
import json
import secrets
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

from ..harness import Server as _Server
from ..harness import run_cli
from . import fake_netsuite, fake_shopify, scenario
from .fake_netsuite import Tba, hmac_sha256_signature, oauth_enc, signature_base_string
from .test_fakes import _SyncASGI
from .test_shopify_netsuite import (
    CLI_TIMEOUT,
    ENV_PREFIX,
    PROFILE,
    _describe,
    _env,
    product_lists_both,
    score,
    setup_args,
    write_mappings,
)

SUITEQL = "/services/rest/query/v1/suiteql"


# =============================================================================== key material
def _pem(key: Any) -> str:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption()).decode()


def _hex_secret() -> str:
    return secrets.token_hex(32)  # NetSuite's keys and secrets are 64 hex characters


# the TBA credentials of the integration record and of one access token (user + role)
TBA = Tba(account_id=scenario.NS_ACCOUNT, consumer_key=_hex_secret(),
          consumer_secret=_hex_secret(), token_id=_hex_secret(), token_secret=_hex_secret())
WRONG_TOKEN_SECRET = _hex_secret()

# an EC P-256 key whose certificate is mapped in the fake account, and one that is not
EC_KEY = ec.generate_private_key(ec.SECP256R1())
EC_KEY_PEM = _pem(EC_KEY)
EC_CERTIFICATE = fake_netsuite.self_signed_certificate(EC_KEY)
OTHER_EC_KEY_PEM = _pem(ec.generate_private_key(ec.SECP256R1()))


# ====================================================================== part 1: the fake itself
def _b64u(b: bytes) -> str:
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def _assertion(key: Any, alg: str, *, kid: str = scenario.NS_CERTIFICATE_ID,
               der: bool = False) -> str:
    """A client assertion as section_162790605110 describes it, signed by ``key`` under
    ``alg`` (ES* as r||s unless ``der``)."""
    now = int(time.time())
    head = {"typ": "JWT", "alg": alg, "kid": kid}
    claims = {"iss": scenario.NS_CLIENT_ID, "scope": "rest_webservices",
              "aud": "http://ns.test" + fake_netsuite.TOKEN_PATH, "iat": now,
              "exp": now + 1800}
    signing = f"{_b64u(json.dumps(head).encode())}.{_b64u(json.dumps(claims).encode())}"
    hash_cls: Callable[[], hashes.HashAlgorithm] = {
        "256": hashes.SHA256, "384": hashes.SHA384, "512": hashes.SHA512}[alg[2:]]
    h = hash_cls()
    if isinstance(key, rsa.RSAPrivateKey):
        pad = (padding.PSS(mgf=padding.MGF1(hash_cls()), salt_length=h.digest_size)
               if alg.startswith("PS") else padding.PKCS1v15())
        sig = key.sign(signing.encode(), pad, h)
    else:
        sig = key.sign(signing.encode(), ec.ECDSA(h))
        if not der:
            width = (key.curve.key_size + 7) // 8
            r, s = decode_dss_signature(sig)
            sig = r.to_bytes(width, "big") + s.to_bytes(width, "big")
    return f"{signing}.{_b64u(sig)}"


def _token(c: httpx.Client, assertion: str) -> httpx.Response:
    return c.post(fake_netsuite.TOKEN_PATH, data={
        "grant_type": "client_credentials",
        "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
        "client_assertion": assertion})


@pytest.fixture(scope="module")
def world() -> scenario.World:
    return scenario.build_world()


def test_tba_signature_matches_oracles_rest_sample() -> None:
    """Oracle's REST web services sample (section_1534941088 "The Signature for Web Services
    and RESTlets", section_1534941295 "The Authorization Headers"; netsuite.md §2.3): GET
    .../record/v1/employee/40, realm 123456. The secrets are the page's input parameters; the
    published signature (B5OI...%3D) confirms them."""
    params = {"oauth_consumer_key":
              "ef40afdd8abaac111b13825dd5e5e2ddddb44f86d5a0dd6dcf38c20aae6b67e4",
              "oauth_nonce": "fjaLirsIcCGVZWzBX0pg", "oauth_signature_method": "HMAC-SHA256",
              "oauth_timestamp": "1508242306",
              "oauth_token": "2b0ce516420110bcbd36b69e99196d1b7f6de3c6234c5afb799b73d87569f5cc",
              "oauth_version": "1.0", "realm": "123456"}
    base = signature_base_string(
        "GET", "https://123456.suitetalk.api.netsuite.com/services/rest/record/v1/employee/40",
        params)
    assert base == (
        "GET&https%3A%2F%2F123456.suitetalk.api.netsuite.com%2Fservices%2Frest%2Frecord%2Fv1"
        "%2Femployee%2F40&oauth_consumer_key%3Def40afdd8abaac111b13825dd5e5e2ddddb44f86d5a0dd6d"
        "cf38c20aae6b67e4%26oauth_nonce%3DfjaLirsIcCGVZWzBX0pg%26oauth_signature_method%3DHMAC-"
        "SHA256%26oauth_timestamp%3D1508242306%26oauth_token%3D2b0ce516420110bcbd36b69e99196d1b"
        "7f6de3c6234c5afb799b73d87569f5cc%26oauth_version%3D1.0")
    sig = hmac_sha256_signature(
        base, "d26ad321a4b2f23b0741c8d38392ce01c3e23e109df6c96eac6d099e9ab9e8b5",
        "c29a677df7d5439a458c063654187e3d678d73aca8e3c9d8bea1478a3eb0d295")
    assert oauth_enc(sig) == "B5OIWznZ2YP0OB7VrJrGkYsTh%2B8H%2B5T9Hag%2Bo92q0zY%3D"


def test_tba_base_string_rfc5849_example() -> None:
    """RFC 5849 §3.4.1.1's example: query parameters decoded as a form, duplicates sorted by
    value, empty values kept, the default port dropped, the realm and oauth_signature out, the
    form body's parameters in."""
    base = signature_base_string(
        "post", "http://EXAMPLE.COM:80/request?b5=%3D%253D&a3=a&c%40=&a2=r%20b",
        {"realm": "Example", "oauth_consumer_key": "9djdj82h48djs9d2",
         "oauth_token": "kkk9d7dh3k39sjv7", "oauth_signature_method": "HMAC-SHA1",
         "oauth_timestamp": "137131201", "oauth_nonce": "7d8f3e4a",
         "oauth_signature": "bYT5CMsGcbgUdFHObYMEfcx6bsw="},
        form_body=[("c2", ""), ("a3", "2 q")])
    assert base == (
        "POST&http%3A%2F%2Fexample.com%2Frequest&a2%3Dr%2520b%26a3%3D2%2520q%26a3%3Da%26b5%3D"
        "%253D%25253D%26c%2540%3D%26c2%3D%26oauth_consumer_key%3D9djdj82h48djs9d2%26oauth_nonce"
        "%3D7d8f3e4a%26oauth_signature_method%3DHMAC-SHA1%26oauth_timestamp%3D137131201%26"
        "oauth_token%3Dkkk9d7dh3k39sjv7")


def test_fake_accepts_oracles_sample_header_once(world: scenario.World) -> None:
    """The fake, at the sample's clock, takes Oracle's verbatim header on Oracle's URL (the
    record type is not served: 404, not 401) and refuses it the second time (the nonce)."""
    creds = Tba("123456", "ef40afdd8abaac111b13825dd5e5e2ddddb44f86d5a0dd6dcf38c20aae6b67e4",
                "d26ad321a4b2f23b0741c8d38392ce01c3e23e109df6c96eac6d099e9ab9e8b5",
                "2b0ce516420110bcbd36b69e99196d1b7f6de3c6234c5afb799b73d87569f5cc",
                "c29a677df7d5439a458c063654187e3d678d73aca8e3c9d8bea1478a3eb0d295")
    app = fake_netsuite.make_app(world, tba=creds, clock=lambda: 1508242306 + 30)
    header = ('OAuth realm="123456", oauth_token="2b0ce516420110bcbd36b69e99196d1b7f6de3c6234c5'
              'afb799b73d87569f5cc", oauth_consumer_key="ef40afdd8abaac111b13825dd5e5e2ddddb44f8'
              '6d5a0dd6dcf38c20aae6b67e4", oauth_nonce="fjaLirsIcCGVZWzBX0pg", oauth_timestamp="'
              '1508242306", oauth_signature_method="HMAC-SHA256", oauth_version="1.0", oauth_sig'
              'nature="B5OIWznZ2YP0OB7VrJrGkYsTh%2B8H%2B5T9Hag%2Bo92q0zY%3D"')
    with httpx.Client(transport=_SyncASGI(app),
                      base_url="https://123456.suitetalk.api.netsuite.com") as c:
        first = c.get("/services/rest/record/v1/employee/40", headers={"Authorization": header})
        again = c.get("/services/rest/record/v1/employee/40", headers={"Authorization": header})
    assert first.status_code == 404, first.text
    assert again.status_code == 401
    assert app.state.log[-1]["auth_error"] == "nonce used before"


def _sign_tba(method: str, url: str, creds: Tba, *, realm: str | None = None,
              nonce: str | None = None, ts: int | None = None, method_name: str = "HMAC-SHA256",
              token_secret: str | None = None, sign_url: str | None = None) -> str:
    p = {"oauth_consumer_key": creds.consumer_key, "oauth_token": creds.token_id,
         "oauth_nonce": nonce or secrets.token_urlsafe(16),
         "oauth_timestamp": str(ts if ts is not None else int(time.time())),
         "oauth_signature_method": method_name, "oauth_version": "1.0"}
    sig = hmac_sha256_signature(signature_base_string(method, sign_url or url, p),
                                creds.consumer_secret,
                                creds.token_secret if token_secret is None else token_secret)
    p["oauth_signature"] = sig
    p["realm"] = creds.account_id if realm is None else realm
    return "OAuth " + ", ".join(
        f'{k}="{v if k == "realm" else oauth_enc(v)}"' for k, v in p.items())


@pytest.fixture()
def tba_client(world: scenario.World) -> Iterator[tuple[httpx.Client, Any]]:
    app = fake_netsuite.make_app(world, tba=TBA)
    with httpx.Client(transport=_SyncASGI(app), base_url="http://ns.test") as c:
        yield c, app


def test_fake_tba_rules(tba_client: tuple[httpx.Client, Any]) -> None:
    c, app = tba_client
    url = "http://ns.test" + SUITEQL + "?limit=5&offset=0"
    body = {"q": "SELECT id FROM transaction ORDER BY id"}

    def post(header: str, target: str = url) -> httpx.Response:
        return c.post(target, json=body, headers={"Prefer": "transient",
                                                   "Authorization": header})

    ok = post(_sign_tba("POST", url, TBA))  # the JSON body is not signed
    assert ok.status_code == 200, ok.text
    assert app.state.log[-1]["auth"] == "tba" and "auth_error" not in app.state.log[-1]
    refusals = {
        "signature does not verify": [
            _sign_tba("POST", url, TBA, token_secret=WRONG_TOKEN_SECRET),
            _sign_tba("POST", url, TBA, sign_url="http://ns.test" + SUITEQL),  # query unsigned
            _sign_tba("GET", url, TBA)],  # another method
        "realm": [_sign_tba("POST", url, TBA, realm="7654321")],
        "signature method": [_sign_tba("POST", url, TBA, method_name="HMAC-SHA1")],
        "timestamp": [_sign_tba("POST", url, TBA, ts=int(time.time()) - 400),
                      _sign_tba("POST", url, TBA, ts=int(time.time()) + 400)],
        "nonce shorter": [_sign_tba("POST", url, TBA, nonce="abc")],
    }
    for reason, headers in refusals.items():
        for h in headers:
            r = post(h)
            assert r.status_code == 401, (reason, r.text)
            assert r.json()["o:errorDetails"][0]["o:errorCode"] == "INVALID_LOGIN"
            assert reason in app.state.log[-1]["auth_error"], app.state.log[-1]
    replay = _sign_tba("POST", url, TBA)
    assert post(replay).status_code == 200
    assert post(replay).status_code == 401 and \
        app.state.log[-1]["auth_error"] == "nonce used before"
    # a TBA account still refuses a bearer token it never issued
    assert post("Bearer nope").status_code == 401


def test_fake_verifies_the_assertion_against_the_mapped_certificate(
        world: scenario.World) -> None:
    rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=3072)
    p384 = ec.generate_private_key(ec.SECP384R1())
    p521 = ec.generate_private_key(ec.SECP521R1())
    certs = {"rsa": fake_netsuite.self_signed_certificate(rsa_key),
             scenario.NS_CERTIFICATE_ID: EC_CERTIFICATE,
             "p384": p384.public_key(), "p521": p521.public_key()}
    app = fake_netsuite.make_app(world, client_id=scenario.NS_CLIENT_ID, certificates=certs)
    with httpx.Client(transport=_SyncASGI(app), base_url="http://ns.test") as c:
        def ok(a: str) -> bool:
            r = _token(c, a)
            return r.status_code == 200

        assert ok(_assertion(EC_KEY, "ES256"))
        assert ok(_assertion(p384, "ES384", kid="p384"))
        assert ok(_assertion(p521, "ES512", kid="p521"))
        for alg in ("PS256", "PS384", "PS512"):
            assert ok(_assertion(rsa_key, alg, kid="rsa")), alg
        # refused: RS256; an alg that does not fit the key; a DER (not r||s) ECDSA signature;
        # a key that is not the mapped certificate's; an unknown kid
        assert not ok(_assertion(rsa_key, "RS256", kid="rsa"))
        assert not ok(_assertion(EC_KEY, "ES384"))
        assert not ok(_assertion(EC_KEY, "ES256", kid="rsa"))
        assert not ok(_assertion(rsa_key, "PS256"))
        assert not ok(_assertion(EC_KEY, "ES256", der=True))
        other = serialization.load_pem_private_key(OTHER_EC_KEY_PEM.encode(), None)
        assert not ok(_assertion(other, "ES256"))
        assert app.state.log[-1]["auth_error"] == "signature does not verify"
        assert _token(c, _assertion(other, "ES256")).json()["error"] == "invalid_client"
        assert not ok(_assertion(EC_KEY, "ES256", kid="unmapped"))
    # NetSuite takes no RSA certificate under 3072 bits (subsect_162755332391)
    with pytest.raises(ValueError):
        fake_netsuite.make_app(world, certificates={"x": rsa.generate_private_key(
            public_exponent=65537, key_size=2048).public_key()})


# =============================================================== part 2: the product's real CLI
def _tba_setup_args(shop_url: str, ns_url: str) -> list[str]:
    """The harness's setup, with ``--erp-option auth=tba`` "instead of the two ids" (README) and
    no token URL (TBA buys no token)."""
    args = setup_args(shop_url, ns_url)
    out: list[str] = []
    i = 0
    while i < len(args):
        if args[i] == "--erp-option" and args[i + 1].split("=", 1)[0] in (
                "client_id", "certificate_id", "token_url"):
            i += 2
            continue
        out.append(args[i])
        i += 1
    return [*out, "--erp-option", "auth=tba"]


def _tba_env(home: Path, token_secret: str) -> dict[str, str]:
    env = _env(home)
    env.pop(ENV_PREFIX + "PRIVATE_KEY", None)  # no M2M key at all: only TBA can work
    env.update({ENV_PREFIX + "CONSUMER_KEY": TBA.consumer_key,
                ENV_PREFIX + "CONSUMER_SECRET": TBA.consumer_secret,
                ENV_PREFIX + "TOKEN_ID": TBA.token_id,
                ENV_PREFIX + "TOKEN_SECRET": token_secret})
    return env


def _ec_env(home: Path, pem: str) -> dict[str, str]:
    env = _env(home)
    env[ENV_PREFIX + "PRIVATE_KEY"] = pem
    return env


def _check(env: dict[str, str], ns_app: Any, home: Path) -> dict[str, Any]:
    before = len(ns_app.state.log)
    started = time.monotonic()
    check = run_cli(["check", "--profile", PROFILE, "--format", "json", "--now",
                     scenario.NOW_ISO], env, timeout=300)
    out: dict[str, Any] = {"home": home, "check": check, "runs": [check],
                           "elapsed": time.monotonic() - started,
                           "ns_log": list(ns_app.state.log[before:])}
    try:
        out["doc"] = json.loads(check.stdout)
    except json.JSONDecodeError:
        out["doc"] = None
    return out


def _scenario(world: scenario.World, home: Path, env: dict[str, str], ns_app: Any,
              setup: str, then: dict[str, str] | None = None) -> list[dict[str, Any]]:
    """``setup`` (``tba`` or ``m2m``) and one ``check`` against a fresh fake Shopify and
    ``ns_app``; with ``then``, a second ``check`` in the same home, against the same servers
    (the profile names their addresses), with that environment."""
    shop_app = fake_shopify.make_app(world, bucket_max=20000, restore_rate=1000)
    with _Server(shop_app) as shop, _Server(ns_app) as ns:
        shop_url, ns_url = f"http://127.0.0.1:{shop.port}", f"http://127.0.0.1:{ns.port}"
        args = _tba_setup_args(shop_url, ns_url) if setup == "tba" else \
            setup_args(shop_url, ns_url)
        s = run_cli(args, env, CLI_TIMEOUT)
        assert s.returncode == 0, f"setup failed ({s.returncode}):\n{s.stdout}\n{s.stderr}"
        write_mappings(env, home, world)
        first = _check(env, ns_app, home)
        first["runs"].insert(0, s)
        out = [first]
        if then is not None:
            out.append(_check(then, ns_app, home))
    return out


@pytest.fixture(scope="module")
def runs(world: scenario.World, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    ok, missing = product_lists_both()
    if not ok:
        pytest.skip(f"the product does not list Shopify and NetSuite as built (lacks {missing})")
    out: dict[str, Any] = {}
    # A. TBA, right secrets
    home = tmp_path_factory.mktemp("rc_home_tba")
    [out["tba_ok"]] = _scenario(world, home, _tba_env(home, TBA.token_secret),
                                fake_netsuite.make_app(world, tba=TBA), "tba")
    # B. TBA, a wrong token secret, nothing cached
    home = tmp_path_factory.mktemp("rc_home_tba_bad")
    [out["tba_bad"]] = _scenario(world, home, _tba_env(home, WRONG_TOKEN_SECRET),
                                 fake_netsuite.make_app(world, tba=TBA), "tba")
    # C. M2M with an EC P-256 key, its certificate mapped; then D. the same home (its cache),
    # a key that is not the mapped certificate's
    home = tmp_path_factory.mktemp("rc_home_ec")
    out["ec_ok"], out["ec_bad"] = _scenario(
        world, home, _ec_env(home, EC_KEY_PEM),
        fake_netsuite.make_app(world, client_id=scenario.NS_CLIENT_ID,
                               certificates={scenario.NS_CERTIFICATE_ID: EC_CERTIFICATE}),
        "m2m", then=_ec_env(home, OTHER_EC_KEY_PEM))
    return out


def _report(run: dict[str, Any], world: scenario.World | None = None) -> str:
    check, doc = run["check"], run["doc"]
    lines = [f"exit {check.returncode}; check took {run['elapsed']:.1f}s"]
    if doc:
        lines += [f"platform: {doc.get('platform')}", f"erp: {doc.get('erp')}",
                  f"findings={len(doc.get('findings', []))}"]
    lines.append("NetSuite log:")
    for e in run["ns_log"][:12]:
        lines.append(f"  {e.get('status')} {e.get('method')} {e.get('path')} auth="
                     f"{e.get('auth')} alg={e.get('alg')} err={e.get('auth_error')}")
    if len(run["ns_log"]) > 12:
        lines.append(f"  ... {len(run['ns_log'])} requests")
    lines.append("stdout (head): " + check.stdout[:800])
    lines.append("stderr (tail): " + check.stderr[-1500:])
    return "\n".join(lines)


def _score(run: dict[str, Any], world: scenario.World) -> tuple[float, float, str]:
    doc = run["doc"]
    assert doc is not None, "check printed no JSON:\n" + _report(run)
    found_map: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for f in doc.get("findings", []):
        found_map.setdefault((f.get("return_ref"), f.get("code")), []).append(f)
    table, precision, recall = score(world.truth, set(found_map))
    extra = ["FALSE POSITIVES:"] + [f"  {p[0]}: {_describe(f)}" for p in
                                    sorted(set(found_map) - world.truth, key=str)
                                    for f in found_map[p]]
    extra += ["FALSE NEGATIVES:"] + [f"  {p}" for p in sorted(world.truth - set(found_map),
                                                             key=str)]
    text = "\n".join([*table, *extra, _report(run)])
    print("\n" + text)
    return precision, recall, text


def _secret_values() -> list[str]:
    vals = [TBA.consumer_key, TBA.consumer_secret, TBA.token_id, TBA.token_secret,
            WRONG_TOKEN_SECRET, scenario.ACCESS_TOKEN]
    for pem in (EC_KEY_PEM, OTHER_EC_KEY_PEM):
        vals += [ln for ln in pem.splitlines() if len(ln) >= 20 and "-----" not in ln]
    return vals


def _leaks(text: str) -> list[str]:
    return [v[:6] + "…" for v in _secret_values() if v in text]


def _error_line_naming_netsuite(run: dict[str, Any]) -> str | None:
    """The one-line error naming NetSuite: on stderr, else the JSON's erp.error."""
    for ln in run["check"].stderr.splitlines():
        if "netsuite" in ln.lower():
            return ln
    err = ((run["doc"] or {}).get("erp") or {}).get("error")
    if isinstance(err, str) and "netsuite" in err.lower() and "\n" not in err.strip():
        return err
    return None


def _not_all_clear(run: dict[str, Any]) -> None:
    check, doc = run["check"], run["doc"]
    text = _report(run)
    assert check.returncode != 0, "exit 0 although NetSuite refused every request:\n" + text
    if doc is not None:
        assert (doc.get("erp") or {}).get("status") != "ok", text
    assert "Traceback" not in check.stderr, text


def test_a_tba_scores_and_only_signs(world: scenario.World, runs: dict[str, Any]) -> None:
    run = runs["tba_ok"]
    precision, recall, text = _score(run, world)
    doc = run["doc"]
    assert doc["erp"].get("status") == "ok" and doc["platform"].get("status") == "ok", text
    assert precision == 1.0 and recall == 1.0, text
    log = run["ns_log"]
    assert log, text
    assert not [e for e in log if e["path"] == fake_netsuite.TOKEN_PATH], \
        "TBA bought a token:\n" + text
    not_tba = [e for e in log if e.get("auth") != "tba"]
    assert not not_tba, f"requests not TBA-signed: {not_tba[:3]}\n{text}"
    refused = [e for e in log if e.get("auth_error")]
    assert not refused, f"signed requests the fake refused: {refused[:3]}\n{text}"
    assert {e.get("realm") for e in log} == {scenario.NS_ACCOUNT}, text
    assert {e.get("oauth_signature_method") for e in log} == {"HMAC-SHA256"}, text


def test_b_tba_wrong_token_secret_fails_clearly(runs: dict[str, Any]) -> None:
    run = runs["tba_bad"]
    text = _report(run)
    _not_all_clear(run)
    log = run["ns_log"]
    assert log and all(e.get("auth") == "tba" and e.get("status") == 401 for e in log), text
    assert {e.get("auth_error") for e in log} == {"signature does not verify"}, text
    line = _error_line_naming_netsuite(run)
    assert line, "no one-line error naming NetSuite:\n" + text
    print("\nB's error line:", line, f"(exit {run['check'].returncode})")


def test_c_ec_p256_scores_and_signs_es256(world: scenario.World, runs: dict[str, Any]) -> None:
    run = runs["ec_ok"]
    precision, recall, text = _score(run, world)
    doc = run["doc"]
    assert doc["erp"].get("status") == "ok" and doc["platform"].get("status") == "ok", text
    assert precision == 1.0 and recall == 1.0, text
    tokens = [e for e in run["ns_log"] if e["path"] == fake_netsuite.TOKEN_PATH]
    assert tokens and {e.get("alg") for e in tokens} == {"ES256"}, text
    assert {e.get("kid") for e in tokens} == {scenario.NS_CERTIFICATE_ID}, text
    assert all(e.get("status") == 200 for e in tokens), text
    rest = [e for e in run["ns_log"] if e["path"] != fake_netsuite.TOKEN_PATH]
    assert rest and all(e.get("auth") == "bearer" and not e.get("auth_error")
                        for e in rest), text


def test_d_key_not_matching_the_certificate_fails_clearly(runs: dict[str, Any]) -> None:
    run = runs["ec_bad"]
    text = _report(run)
    _not_all_clear(run)
    log = run["ns_log"]
    tokens = [e for e in log if e["path"] == fake_netsuite.TOKEN_PATH]
    assert tokens and all(e.get("status") == 400 and
                          e.get("auth_error") == "signature does not verify"
                          for e in tokens), text
    assert not [e for e in log if e.get("status") == 200], text
    line = _error_line_naming_netsuite(run)
    assert line, "no one-line error naming NetSuite:\n" + text
    print("\nD's error line:", line, f"(exit {run['check'].returncode}, erp status "
          f"{((run['doc'] or {}).get('erp') or {}).get('status')})")


def test_no_secret_printed(runs: dict[str, Any]) -> None:
    leaks = {}
    for name, run in runs.items():
        for i, r in enumerate(run["runs"]):
            found = _leaks(r.stdout + r.stderr)
            if found:
                leaks[f"{name} run {i} ({' '.join(r.args[3:5])})"] = found
    assert not leaks, f"secret values printed: {leaks}"


def test_no_secret_written_under_home(runs: dict[str, Any]) -> None:
    """README: secrets live in the keyring or the environment, never in files; what a server
    sends back is scrubbed before it is logged."""
    leaks = {}
    for name in ("tba_ok", "tba_bad", "ec_ok"):
        for f in Path(runs[name]["home"]).rglob("*"):
            if f.is_file():
                data = f.read_bytes().decode("latin-1")
                found = _leaks(data)
                if found:
                    leaks[str(f)] = found
    assert not leaks, f"secret values written to files: {leaks}"


@pytest.mark.parametrize(("name", "secret"), [("tba_bad", "token_secret"),
                                              ("ec_bad", "private_key")])
def test_a_refused_credential_says_where_it_came_from(runs: dict[str, Any], name: str,
                                                      secret: str) -> None:
    """README, "Faults, cache and refresh": "A refused key says where it came from (the
    environment variable, which wins, or the keyring)". Here the refused secret came from
    RETURNS_CONSOLE_HARBOUR_<SECRET>."""
    run = runs[name]
    line = _error_line_naming_netsuite(run) or ""
    var = ENV_PREFIX + secret.upper()
    assert var in line or ("environment" in line.lower() and secret in line), (
        f"the error does not say where {secret} came from ({var}):\n  {line}")
