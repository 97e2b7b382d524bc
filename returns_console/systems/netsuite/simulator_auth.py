"""How the simulated account checks who is calling (docs/vendors/netsuite.md §2.2, §2.3):
a JWT assertion signed by a mapped certificate's key (RSA: PS256/384/512; EC: the curve's
ES256/384/512), or a Token-Based Authentication header (OAuth 1.0a, HMAC-SHA256).

Written from the docs, not from the connector's signing code (it never imports it): the
base string is built here again from RFC 5849 as §2.3 quotes it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import parse_qsl, quote, unquote

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from starlette.requests import Request

#: The sandbox's TBA credentials (public demo values, like every sandbox credential): the
#: integration record's consumer key and secret, and one access token's id and secret.
DEMO_TBA = {
    "consumer_key": "ef40afdd8abaac111b13825dd5e5e2ddddb44f86d5a0dd6dcf38c20aae6b67e4",
    "consumer_secret": "sandbox-consumer-secret-0f1e2d3c4b5a69788796a5b4c3d2e1f0",
    "token_id": "2b0ce516420110bcbd36b69e99196d1b7f6de3c6234c5afb799b73d87569f5cc",
    "token_secret": "sandbox-token-secret-8c7b6a5948372615f4e3d2c1b0a9f8e7d6c5",
}
#: How far a TBA timestamp may be from the account's clock. The docs give no figure
#: (netsuite.md §10, U24); integrators report "a few minutes".
TIMESTAMP_TOLERANCE_S = 300
_Hash = Callable[[], hashes.HashAlgorithm]
_RSA_ALGS: dict[str, _Hash] = {"PS256": hashes.SHA256, "PS384": hashes.SHA384,
                               "PS512": hashes.SHA512}
_EC_ALGS: dict[str, tuple[str, _Hash, int]] = {
    "secp256r1": ("ES256", hashes.SHA256, 32), "secp384r1": ("ES384", hashes.SHA384, 48),
    "secp521r1": ("ES512", hashes.SHA512, 66)}
_PARAM = re.compile(r'\s*([A-Za-z0-9_.~%-]+)\s*=\s*"([^"]*)"\s*(?:,|$)')

PublicKey = rsa.RSAPublicKey | ec.EllipticCurvePublicKey


def b64url_decode(part: str) -> bytes:
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


def signature_refusal(alg: object, key: PublicKey, signed: bytes, signature: bytes
                      ) -> str | None:
    """Why a JWS signature by this certificate's key is refused, or None (§2.2: PS256,
    PS384, PS512 for RSA; ES256, ES384, ES512 for EC; RS256 is no longer accepted)."""
    try:
        if isinstance(key, rsa.RSAPublicKey):
            digest = _RSA_ALGS.get(str(alg))
            if digest is None:
                return f"the certificate is RSA: {alg!r} is not one of PS256, PS384, PS512"
            key.verify(signature, signed, padding.PSS(
                mgf=padding.MGF1(digest()), salt_length=padding.PSS.DIGEST_LENGTH), digest())
            return None
        name, digest, size = _EC_ALGS[key.curve.name]
        if alg != name:
            return f"the certificate is EC on {key.curve.name}: sign with {name}"
        if len(signature) != 2 * size:  # JWS: r then s, fixed width (RFC 7518 §3.4)
            return "the assertion's signature does not match the certificate"
        der = encode_dss_signature(int.from_bytes(signature[:size], "big"),
                                   int.from_bytes(signature[size:], "big"))
        key.verify(der, signed, ec.ECDSA(digest()))
        return None
    except (InvalidSignature, ValueError, KeyError):
        return "the assertion's signature does not match the certificate"


def _enc(text: str) -> str:
    """RFC 5849 §3.6 as §2.3 says (PHP rawurlencode): only unreserved characters stay."""
    return quote(text, safe="-._~")


def realm_of(account_id: str) -> str:
    """The realm is the account id, `_SB1` style (§1.2, §2.3)."""
    return account_id.upper().replace("-", "_")


@dataclass
class TbaCheck:
    """The account's side of Token-Based Authentication: one integration record and one
    access token, each nonce taken once within the timestamp tolerance."""

    account_id: str
    credentials: dict[str, str] = field(default_factory=lambda: dict(DEMO_TBA))
    clock: Callable[[], float] = time.time
    _seen: dict[str, float] = field(default_factory=dict)

    def refusal(self, method: str, url: str, header: str) -> str | None:
        """Why this `Authorization: OAuth ...` request is refused, or None."""
        params = {k: unquote(v) for k, v in _PARAM.findall(header.partition(" ")[2])}
        if params.get("oauth_signature_method") != "HMAC-SHA256":
            return "the signature method must be HMAC-SHA256 (HMAC-SHA1 ended in 2023.1)"
        if params.get("realm", "") != realm_of(self.account_id):
            return "the realm is not this account's id"
        if (params.get("oauth_consumer_key") != self.credentials["consumer_key"]
                or params.get("oauth_token") != self.credentials["token_id"]):
            return "unknown consumer key or token"
        if params.get("oauth_version", "1.0") != "1.0":
            return "oauth_version must be 1.0"
        now = self.clock()
        try:
            stamp = int(params.get("oauth_timestamp", ""))
        except ValueError:
            return "the timestamp is not a number of seconds"
        if abs(now - stamp) > TIMESTAMP_TOLERANCE_S:
            return "the timestamp is too far from the account's clock"
        nonce = params.get("oauth_nonce", "")
        if not nonce:  # the docs say only "one fresh nonce per request" (§2.3, U24)
            return "the request has no nonce"
        if self._seen.get(nonce, 0.0) > now:
            return "this nonce was used already"
        expected = self.signature(method, url, params)
        if not hmac.compare_digest(expected, params.get("oauth_signature", "")):
            return "the signature does not match"
        self._seen = {n: t for n, t in self._seen.items() if t > now}
        self._seen[nonce] = now + 2 * TIMESTAMP_TOLERANCE_S
        return None

    def signature(self, method: str, url: str, params: dict[str, str]) -> str:
        """§2.3: base64(HMAC-SHA256(base string, enc(consumer secret)&enc(token secret)))."""
        base = base_string(method, url, params)
        key = (f"{_enc(self.credentials['consumer_secret'])}&"
               f"{_enc(self.credentials['token_secret'])}")
        digest = hmac.new(key.encode(), base.encode(), hashlib.sha256).digest()
        return base64.b64encode(digest).decode("ascii")


def signed_url(request: Request) -> str:
    """The URL as the client sent it: scheme, Host, the raw (still percent-encoded) path and
    query. RFC 5849 §3.4.1.2 signs the path as sent; Starlette's `request.url` is built from
    the decoded path. (Behind a proxy that rewrites the host or strips a path prefix, every
    signature breaks: the sandbox is not behind one.)"""
    scope = request.scope
    raw = scope.get("raw_path") or scope["path"].encode()
    query = scope.get("query_string") or b""
    host = request.headers.get("host", "")
    url = f"{scope.get('scheme', 'http')}://{host}{raw.decode('latin-1')}"
    return f"{url}?{query.decode('latin-1')}" if query else url


def base_string(method: str, url: str, oauth: dict[str, str]) -> str:
    """RFC 5849 §3.4.1: METHOD & enc(URL without its query) & enc(sorted parameters), the
    parameters being the query's and the header's but `realm` and `oauth_signature`."""
    bare, _, query = url.partition("?")
    scheme, _, rest = bare.partition("://")
    host, slash, path = rest.partition("/")
    host = host.lower()
    for default in (":80", ":443"):
        if host.endswith(default) and (scheme.lower(), default) in (("http", ":80"),
                                                                   ("https", ":443")):
            host = host.removesuffix(default)
    pairs = parse_qsl(query, keep_blank_values=True) + [
        (k, v) for k, v in oauth.items() if k not in ("realm", "oauth_signature")]
    normal = "&".join(f"{k}={v}" for k, v in sorted((_enc(k), _enc(v)) for k, v in pairs))
    return "&".join((method.upper(), _enc(f"{scheme.lower()}://{host}{slash}{path}"),
                     _enc(normal)))
