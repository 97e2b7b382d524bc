"""NetSuite Token-Based Authentication against Oracle's own REST sample
(docs/vendors/netsuite.md §2.3: ns `section_1534941088` "The Signature for Web Services and
RESTlets", ns `section_1534941295` "The Authorization Headers").

The sample's inputs (account 123456, its consumer key and secret, token id and secret,
nonce, timestamp, the employee 40 GET), its signature base string and its Authorization
header are quoted verbatim, and both readings are held to them: the connector's signer
makes Oracle's header, signature included, and the simulated account accepts it. Secrets
with characters that need encoding check the key's encoding (§2.3: `enc(consumer
secret)&enc(token secret)`)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from urllib.parse import unquote

import httpx

from returns_console.connectors.signing import OAuth1Tba
from returns_console.systems.netsuite.simulator_auth import TbaCheck, base_string

# -- §2.3, verbatim ----------------------------------------------------------------------
URL = "https://123456.suitetalk.api.netsuite.com/services/rest/record/v1/employee/40"
CONSUMER_KEY = "ef40afdd8abaac111b13825dd5e5e2ddddb44f86d5a0dd6dcf38c20aae6b67e4"
TOKEN = "2b0ce516420110bcbd36b69e99196d1b7f6de3c6234c5afb799b73d87569f5cc"
NONCE = "fjaLirsIcCGVZWzBX0pg"
TIMESTAMP = 1508242306
BASE_STRING = (
    "GET&https%3A%2F%2F123456.suitetalk.api.netsuite.com%2Fservices%2Frest%2Frecord%2Fv1%2F"
    "employee%2F40&oauth_consumer_key%3Def40afdd8abaac111b13825dd5e5e2ddddb44f86d5a0dd6dcf38c"
    "20aae6b67e4%26oauth_nonce%3DfjaLirsIcCGVZWzBX0pg%26oauth_signature_method%3DHMAC-SHA256%2"
    "6oauth_timestamp%3D1508242306%26oauth_token%3D2b0ce516420110bcbd36b69e99196d1b7f6de3c623"
    "4c5afb799b73d87569f5cc%26oauth_version%3D1.0")
HEADER = (
    'OAuth realm="123456", oauth_token="2b0ce516420110bcbd36b69e99196d1b7f6de3c6234c5afb799b73'
    'd87569f5cc", oauth_consumer_key="ef40afdd8abaac111b13825dd5e5e2ddddb44f86d5a0dd6dcf38c20aa'
    'e6b67e4", oauth_nonce="fjaLirsIcCGVZWzBX0pg", oauth_timestamp="1508242306", oauth_signatu'
    're_method="HMAC-SHA256", oauth_version="1.0", oauth_signature="B5OIWznZ2YP0OB7VrJrGkYsTh%2'
    'B8H%2B5T9Hag%2Bo92q0zY%3D"')
CONSUMER_SECRET = "d26ad321a4b2f23b0741c8d38392ce01c3e23e109df6c96eac6d099e9ab9e8b5"
TOKEN_SECRET = "c29a677df7d5439a458c063654187e3d678d73aca8e3c9d8bea1478a3eb0d295"
SIGNATURE = "B5OIWznZ2YP0OB7VrJrGkYsTh%2B8H%2B5T9Hag%2Bo92q0zY%3D"


def fields(header: str) -> dict[str, str]:
    return dict(re.findall(r'(\w+)="([^"]*)"', header))


def signed(consumer_secret: str = CONSUMER_SECRET, token_secret: str = TOKEN_SECRET
           ) -> httpx.Request:
    request = httpx.Request("GET", URL)
    OAuth1Tba("123456", CONSUMER_KEY, consumer_secret, TOKEN, token_secret,
              clock=lambda: float(TIMESTAMP), nonce=lambda: NONCE).sign(request)
    return request


def hmac_of(text: str, key: str) -> str:
    return base64.b64encode(hmac.new(key.encode(), text.encode(), hashlib.sha256).digest()
                            ).decode()


def test_the_signer_makes_oracles_header_signature_and_all() -> None:
    header = signed().headers["Authorization"]
    assert header.startswith("OAuth ")
    assert fields(header) == fields(HEADER)
    assert fields(header)["oauth_signature"] == SIGNATURE
    assert unquote(SIGNATURE) == hmac_of(BASE_STRING, f"{CONSUMER_SECRET}&{TOKEN_SECRET}")


def test_each_secret_is_encoded_before_the_two_are_joined() -> None:
    header = signed("consumer secret & more/=", "token+secret").headers["Authorization"]
    key = "consumer%20secret%20%26%20more%2F%3D&token%2Bsecret"
    assert unquote(fields(header)["oauth_signature"]) == hmac_of(BASE_STRING, key)
    assert re.fullmatch(r"[A-Za-z0-9%]+", fields(header)["oauth_signature"])


def test_the_simulated_account_builds_the_same_base_string_and_accepts_the_request() -> None:
    theirs = fields(HEADER)
    assert base_string("GET", URL, {k: unquote(v) for k, v in theirs.items()}) == BASE_STRING
    account = TbaCheck("123456", credentials={
        "consumer_key": CONSUMER_KEY, "consumer_secret": CONSUMER_SECRET,
        "token_id": TOKEN, "token_secret": TOKEN_SECRET}, clock=lambda: float(TIMESTAMP))
    # a refused request does not use its nonce up; Oracle's header is then taken, once
    assert account.refusal("GET", URL, signed(token_secret="wrong").headers[
        "Authorization"]) == "the signature does not match"
    assert account.refusal("GET", URL, HEADER) is None
    assert account.refusal("GET", URL, signed().headers["Authorization"]) == (
        "this nonce was used already")
