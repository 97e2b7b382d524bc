"""Auths that sign: a header computed over each request, or a token bought with a signature.

`OAuth1Tba` is NetSuite's Token-Based Authentication: OAuth 1.0a (RFC 5849) with
HMAC-SHA256, a signature over the method, the URL and its query, a timestamp and a nonce,
so every attempt is signed again as it is sent (HttpClient calls `sign`). `JwtClientAssertion`
is OAuth 2.0 client credentials where the client proves itself with a JWT signed by its
private key (RFC 7523), NetSuite's machine-to-machine flow: the key never leaves, and the
bearer token it buys is cached like any other.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import secrets
import time
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, Literal
from urllib.parse import parse_qsl, quote

import httpx
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from pydantic import SecretStr

from ..redaction import MASK
from .auth import BearerToken, request_token
from .http import HttpClient

# -- OAuth 1.0a (RFC 5849) --------------------------------------------------------------------


def percent_encode(value: str) -> str:
    """RFC 5849 section 3.6: UTF-8, then every byte but ALPHA, DIGIT, `-._~` as %XX (upper
    case). Not form encoding: a space is `%20`, never `+`."""
    return quote(value, safe="")


def base_string_uri(url: httpx.URL | str) -> str:
    """RFC 5849 section 3.4.1.2: scheme and host in lower case, the port only when it is not
    the scheme's default, the path as sent; no query, no fragment."""
    url = httpx.URL(str(url)) if isinstance(url, str) else url
    scheme = url.scheme.lower()
    host = url.raw_host.decode("ascii").lower()
    if ":" in host:  # an IPv6 literal
        host = f"[{host}]"
    port = url.port  # httpx gives None for the scheme's default port
    if port is not None and (scheme, port) not in (("http", 80), ("https", 443)):
        host = f"{host}:{port}"
    path = url.raw_path.split(b"?", 1)[0].decode("ascii") or "/"
    return f"{scheme}://{host}{path}"


def request_parameters(request: httpx.Request) -> list[tuple[str, str]]:
    """The request's own parameters a signature covers (RFC 5849 section 3.4.1.3.1): the
    query, decoded, and a form-encoded body; never a JSON body."""
    pairs = parse_qsl(request.url.query.decode("ascii"), keep_blank_values=True)
    content_type = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if content_type == "application/x-www-form-urlencoded":
        try:
            body = request.content
        except httpx.RequestNotRead:
            body = b""
        pairs += parse_qsl(body.decode("utf-8"), keep_blank_values=True)
    return pairs


def normalize_parameters(pairs: Iterable[tuple[str, str]]) -> str:
    """RFC 5849 section 3.4.1.3.2: each name and value encoded, sorted by name then value
    (byte order of the encoded text), joined as `name=value` with `&`."""
    encoded = sorted((percent_encode(k), percent_encode(v)) for k, v in pairs)
    return "&".join(f"{k}={v}" for k, v in encoded)


def signature_base_string(method: str, url: httpx.URL | str,
                          pairs: Iterable[tuple[str, str]]) -> str:
    """RFC 5849 section 3.4.1.1: METHOD & encoded base string URI & encoded parameters."""
    return "&".join((method.upper(), percent_encode(base_string_uri(url)),
                     percent_encode(normalize_parameters(pairs))))


def netsuite_realm(account: str) -> str:
    """NetSuite's realm for an account id: upper case, `-` as `_` (`1234567-sb1` is
    `1234567_SB1`); the host name uses the other spelling, so both forms reach here."""
    return account.strip().upper().replace("-", "_")


def _nonce() -> str:
    # Fresh per request (netsuite.md §2.3); letters and digits, as every sample's is.
    return secrets.token_hex(16)


def _secret(value: SecretStr | str) -> SecretStr:
    return value if isinstance(value, SecretStr) else SecretStr(value)


class OAuth1Tba:
    """NetSuite Token-Based Authentication: OAuth 1.0a, HMAC-SHA256, realm = the account.

    Adds no header up front; `sign` writes the Authorization header on each attempt, with a
    fresh timestamp and nonce, because NetSuite refuses a nonce it has seen and a timestamp
    too far from its clock, and the signature covers the exact URL sent."""

    SIGNATURE_METHOD = "HMAC-SHA256"
    #: Why NetSuite may answer 401 to a signed request (netsuite.md §2.3, §7.3): besides
    #: wrong values, a clock too far from NetSuite's, or (reported for TBA under load) more
    #: requests at once than the account allows, masked as a login failure.
    refused_hint = ("check the consumer key and secret and the token id and secret, and "
                    "this machine's clock; NetSuite also answers 401 when the account has too "
                    "many requests in flight (send fewer at once)")
    #: The wait before the one retry a 401 gets (a masked concurrency refusal clears).
    RETRY_AFTER_401 = 2.0

    def __init__(self, account: str, consumer_key: SecretStr | str,
                 consumer_secret: SecretStr | str, token_id: SecretStr | str,
                 token_secret: SecretStr | str, *, realm: str | None = None,
                 clock: Callable[[], float] = time.time,
                 nonce: Callable[[], str] = _nonce) -> None:
        self.account = account
        self.realm = realm if realm is not None else netsuite_realm(account)
        self._consumer_key = _secret(consumer_key)
        self._consumer_secret = _secret(consumer_secret)
        self._token_id = _secret(token_id)
        self._token_secret = _secret(token_secret)
        self._clock = clock
        self._nonce = nonce

    async def headers(self, http: HttpClient) -> Mapping[str, str]:
        return {}  # the Authorization header depends on the request: see `sign`

    async def refresh(self, http: HttpClient) -> bool:
        """One retry after a pause, signed afresh: the same token signs the same way, but
        NetSuite may have refused a request over the account's concurrency limit as a
        login failure (netsuite.md §2.3). HttpClient asks once per request."""
        await http.sleep(self.RETRY_AFTER_401)
        return True

    def sign(self, request: httpx.Request) -> None:
        """Set the request's Authorization header: a signature over it as it will be sent."""
        oauth = {
            "oauth_consumer_key": self._consumer_key.get_secret_value(),
            "oauth_token": self._token_id.get_secret_value(),
            "oauth_signature_method": self.SIGNATURE_METHOD,
            "oauth_timestamp": str(int(self._clock())),
            "oauth_nonce": self._nonce(),
            "oauth_version": "1.0",
        }
        base = signature_base_string(request.method, request.url,
                                     [*request_parameters(request), *oauth.items()])
        key = (f"{percent_encode(self._consumer_secret.get_secret_value())}&"
               f"{percent_encode(self._token_secret.get_secret_value())}")
        digest = hmac.new(key.encode(), base.encode(), hashlib.sha256).digest()
        oauth["oauth_signature"] = base64.b64encode(digest).decode("ascii")
        fields = [f'realm="{self.realm}"'] + [
            f'{percent_encode(k)}="{percent_encode(v)}"' for k, v in oauth.items()]
        request.headers["Authorization"] = "OAuth " + ", ".join(fields)

    def secrets(self) -> list[str]:
        # The key and token id are identifiers, but half of each credential pair all the same.
        return [s.get_secret_value() for s in (self._consumer_secret, self._token_secret,
                                               self._consumer_key, self._token_id)
                if s.get_secret_value()]

    def __repr__(self) -> str:
        return f"OAuth1Tba({self.account!r}, '***')"


# -- OAuth 2.0 client credentials with a JWT assertion (RFC 7523) -----------------------------

CLIENT_ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"

#: A base64 run in an error text is masked when this many of its characters in a row are
#: part of the private key (a chance match of 12 base64 characters is 1 in 64**12).
_FRAGMENT = 12
_KEY_FRAGMENT = re.compile(rf"[A-Za-z0-9+/]{{{_FRAGMENT},}}")


def b64url(data: bytes) -> str:
    """Base64url without padding, as JWS (RFC 7515) writes every part."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _json_part(value: Mapping[str, Any]) -> str:
    return b64url(json.dumps(value, separators=(",", ":")).encode())


_Hash = Callable[[], hashes.HashAlgorithm]
#: RSA-PSS and RSA PKCS#1 v1.5 (RFC 7518 section 3.3, 3.5), each with its hash.
_RSA: dict[str, _Hash] = {"RS256": hashes.SHA256, "PS256": hashes.SHA256,
                          "PS384": hashes.SHA384, "PS512": hashes.SHA512}
#: ECDSA (RFC 7518 section 3.4): the algorithm is the curve's, the hash its size.
_EC: dict[str, tuple[str, _Hash, int]] = {
    "secp256r1": ("ES256", hashes.SHA256, 32), "secp384r1": ("ES384", hashes.SHA384, 48),
    "secp521r1": ("ES512", hashes.SHA512, 66)}
SigningKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey
JwtAlgorithm = Literal["RS256", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512"]


def _rsa_padding(algorithm: str) -> padding.AsymmetricPadding:
    if algorithm == "RS256":
        return padding.PKCS1v15()
    if algorithm in _RSA:  # RFC 7518 section 3.5: MGF1 with the hash, salt as long as it
        return padding.PSS(mgf=padding.MGF1(_RSA[algorithm]()),
                           salt_length=padding.PSS.DIGEST_LENGTH)
    raise ValueError(f"unsupported JWT algorithm {algorithm!r} for an RSA key: use PS256")


def algorithm_for(key: SigningKey) -> str:
    """The JWS algorithm a key signs with: PS256 for RSA, ES256/384/512 by the EC curve."""
    if isinstance(key, rsa.RSAPrivateKey):
        return "PS256"
    found = _EC.get(key.curve.name)
    if found is None:
        raise ValueError(f"the private key's curve {key.curve.name} is not one a JWT "
                         "signs with (P-256, P-384 or P-521)")
    return found[0]


def _check_pair(algorithm: str, key: SigningKey) -> None:
    if isinstance(key, rsa.RSAPrivateKey):
        _rsa_padding(algorithm)
    elif algorithm != algorithm_for(key):
        raise ValueError(f"an EC key on {key.curve.name} signs {algorithm_for(key)}, "
                         f"not {algorithm}")


def sign_jwt(header: Mapping[str, Any], claims: Mapping[str, Any], key: SigningKey) -> str:
    """A compact JWS over `claims` with the key, `header["alg"]` one the key can sign."""
    signing_input = f"{_json_part(header)}.{_json_part(claims)}".encode("ascii")
    algorithm = str(header["alg"])
    _check_pair(algorithm, key)
    if isinstance(key, rsa.RSAPrivateKey):
        signature = key.sign(signing_input, _rsa_padding(algorithm), _RSA[algorithm]())
    else:  # JWS wants r and s as fixed-size big-endian integers, not DER (RFC 7518 3.4)
        _, digest, size = _EC[key.curve.name]
        r, s = decode_dss_signature(key.sign(signing_input, ec.ECDSA(digest())))
        signature = r.to_bytes(size, "big") + s.to_bytes(size, "big")
    return f"{signing_input.decode('ascii')}.{b64url(signature)}"


def _load_key(pem: str) -> SigningKey:
    try:
        key = serialization.load_pem_private_key(pem.encode(), password=None)
    except (ValueError, TypeError, UnsupportedAlgorithm):
        # Never quote the text: it is (or is meant to be) the private key.
        raise ValueError("the private key is not an unencrypted PEM private key") from None
    if not isinstance(key, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey):
        raise ValueError("the private key is neither an RSA nor an EC key")
    return key


class JwtClientAssertion(BearerToken):
    """OAuth 2.0 client credentials, the client authenticated by a signed JWT (RFC 7523
    section 2.2) instead of a shared secret: what NetSuite's machine-to-machine flow asks
    for, with the certificate id as `kid`.

    Like `OAuthClientCredentials`: the bearer token is cached until `leeway` seconds before
    it expires, dropped on a 401, and every secret it holds (the key, each line of it, the
    last assertion, the token) is given to the redaction layer. `scope` goes in the token
    request (RFC 6749) or, with `scope_in="assertion"`, as a `scope` claim in the JWT, where
    NetSuite reads it (`restlets,rest_webservices`). `clock` is wall-clock seconds: it dates
    the JWT, so the server must agree with it, and it times the cached token."""

    def __init__(self, token_url: str, client_id: str, private_key_pem: SecretStr | str | bytes,
                 *, key_id: str, scope: str | None = None,
                 algorithm: JwtAlgorithm | None = None,
                 audience: str | None = None, lifetime: int = 300,
                 scope_in: Literal["body", "assertion"] = "body", leeway: float = 60.0,
                 clock: Callable[[], float] = time.time) -> None:
        if isinstance(private_key_pem, bytes):
            private_key_pem = private_key_pem.decode("ascii", "replace")
        self._pem = _secret(private_key_pem)
        self._key = _load_key(self._pem.get_secret_value())
        chosen = algorithm or algorithm_for(self._key)
        _check_pair(chosen, self._key)  # a mismatch fails here, not at the first call
        self.token_url = token_url
        self.client_id = client_id
        self.key_id = key_id
        self.scope = scope
        self.algorithm = chosen
        self.audience = audience or token_url
        self.lifetime = lifetime
        self.scope_in = scope_in
        super().__init__(leeway=leeway, clock=clock)
        self._assertion: SecretStr | None = None

    def assertion(self) -> str:
        """A fresh signed JWT for one token request: unique `jti`, `lifetime` seconds long."""
        issued = int(self._clock())
        claims: dict[str, Any] = {
            "iss": self.client_id, "sub": self.client_id, "aud": self.audience,
            "iat": issued, "exp": issued + self.lifetime, "jti": uuid.uuid4().hex,
        }
        if self.scope and self.scope_in == "assertion":
            claims["scope"] = self.scope
        header = {"alg": self.algorithm, "typ": "JWT", "kid": self.key_id}
        return sign_jwt(header, claims, self._key)

    def token_form(self, assertion: str) -> dict[str, str]:
        """The token request body (RFC 7523 section 2.2, client credentials grant)."""
        form = {"grant_type": "client_credentials",
                "client_assertion_type": CLIENT_ASSERTION_TYPE,
                "client_assertion": assertion}
        if self.scope and self.scope_in == "body":
            form["scope"] = self.scope
        return form

    async def _fetch(self, http: HttpClient) -> None:
        assertion = self.assertion()
        self._assertion = SecretStr(assertion)
        token, lifetime = await request_token(
            http, self.token_url, self.token_form(assertion),
            refused="the token endpoint refused the signed assertion; check the client id, "
                    "the certificate id and that its certificate is mapped and not revoked",
            scrub=self._scrub)
        self._keep(token, lifetime)

    def _key_lines(self) -> list[str]:
        lines = (line.strip() for line in self._pem.get_secret_value().splitlines())
        return [line for line in lines if line and not line.startswith("-----")]

    def _scrub(self, text: str) -> str:
        """Mask any base64 run that shares a stretch with the key: an error parser that cuts
        a body short leaves half a line (after an escaped line break's `n`, too), which no
        whole-value match can find."""
        body = "".join(self._key_lines())
        size = _FRAGMENT

        def mask(match: re.Match[str]) -> str:
            run = match.group(0)
            keyish = any(run[i:i + size] in body for i in range(len(run) - size + 1))
            return MASK if keyish else run

        return _KEY_FRAGMENT.sub(mask, text)

    def secrets(self) -> list[str]:
        found: Sequence[SecretStr | None] = (self._pem, self._assertion, self._token)
        values = [s.get_secret_value() for s in found if s is not None]
        # A body may quote the key with its line breaks escaped or dropped: each line too.
        values += self._key_lines()
        return [v for v in values if v]

    def __repr__(self) -> str:
        return f"JwtClientAssertion({self.token_url!r}, {self.client_id!r}, '***')"
