"""NetSuite Token-Based Authentication against Oracle's own REST sample
(docs/vendors/netsuite.md §2.3: ns `section_1534941088` "The Signature for Web Services and
RESTlets", ns `section_1534941295` "The Authorization Headers").

The sample's inputs (account 123456, its consumer key and token, nonce, timestamp, the
employee 40 GET) and its signature base string are quoted verbatim. The sample's two
secrets are not in the repository whole (netsuite.md keeps only their ends), so the
signature is checked as §2.3 defines it: base64 of HMAC-SHA256 over that base string with
`enc(consumer secret)&enc(token secret)`, here with secrets of our own. Both readings are
held to it: the connector's signer and the simulated account's check."""

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
# -- ours: the sample's secrets are elided in netsuite.md ----------------------------------
CONSUMER_SECRET = "consumer secret & more/="
TOKEN_SECRET = "token+secret"


def fields(header: str) -> dict[str, str]:
    return dict(re.findall(r'(\w+)="([^"]*)"', header))


def signed() -> httpx.Request:
    request = httpx.Request("GET", URL)
    OAuth1Tba("123456", CONSUMER_KEY, CONSUMER_SECRET, TOKEN, TOKEN_SECRET,
              clock=lambda: float(TIMESTAMP), nonce=lambda: NONCE).sign(request)
    return request


def hmac_of(text: str) -> str:
    key = "consumer%20secret%20%26%20more%2F%3D&token%2Bsecret"  # each encoded, then &
    return base64.b64encode(hmac.new(key.encode(), text.encode(), hashlib.sha256).digest()
                            ).decode()


def test_the_signer_signs_oracles_base_string_and_writes_oracles_header_fields() -> None:
    header = signed().headers["Authorization"]
    ours, theirs = fields(header), fields(HEADER)
    assert header.startswith("OAuth ")
    assert {k: v for k, v in ours.items() if k != "oauth_signature"} == {
        k: v for k, v in theirs.items() if k != "oauth_signature"}
    # the signature is percent-encoded in the header, as in the sample (%2B, %3D)
    assert unquote(ours["oauth_signature"]) == hmac_of(BASE_STRING)
    assert re.fullmatch(r"[A-Za-z0-9%]+", ours["oauth_signature"])


def test_the_simulated_account_builds_the_same_base_string_and_accepts_the_request() -> None:
    theirs = fields(HEADER)
    assert base_string("GET", URL, {k: unquote(v) for k, v in theirs.items()}) == BASE_STRING
    account = TbaCheck("123456", credentials={
        "consumer_key": CONSUMER_KEY, "consumer_secret": CONSUMER_SECRET,
        "token_id": TOKEN, "token_secret": TOKEN_SECRET}, clock=lambda: float(TIMESTAMP))
    # Oracle's own header was signed with the secrets we do not have: refused, as it must
    # be (a refused request does not use its nonce up)
    assert account.refusal("GET", URL, HEADER) == "the signature does not match"
    assert account.refusal("GET", URL, signed().headers["Authorization"]) is None
    assert account.refusal("GET", URL, signed().headers["Authorization"]) == (
        "this nonce was used already")
