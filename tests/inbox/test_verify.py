"""Signature checks: what is accepted, what is refused, and that the secret stays inside."""

from __future__ import annotations

import base64
import hashlib
import hmac
import pickle

import pytest

from returns_console.inbox.verify import from_header, hmac_sha256_base64, hmac_sha256_hex

SECRET = "whsec-test-5d1e77"
BODY = b'{"id": 1, "note": "caf\xc3\xa9"}'
DIGEST = hmac.new(SECRET.encode(), BODY, hashlib.sha256).digest()
B64 = base64.b64encode(DIGEST).decode()
HEX = DIGEST.hex()


@pytest.mark.parametrize("value", [B64, f"  {B64}\r\n", f"sha256={B64}", f" SHA256= {B64} "])
def test_a_good_base64_signature_passes(value: str) -> None:
    assert hmac_sha256_base64(SECRET)(value, BODY)


@pytest.mark.parametrize("value", [HEX, HEX.upper(), f"sha256={HEX}", f"\t{HEX} "])
def test_a_good_hex_signature_passes(value: str) -> None:
    assert hmac_sha256_hex(SECRET)(value, BODY)


@pytest.mark.parametrize("value", [None, "", "   ", "sha256=", "not base64!", HEX,
                                   B64[:-4], base64.b64encode(DIGEST[:-1]).decode(), "é" * 44])
def test_a_bad_or_missing_base64_signature_fails(value: str | None) -> None:
    assert not hmac_sha256_base64(SECRET)(value, BODY)


@pytest.mark.parametrize("value", [None, "", "sha256=", "zz" * 32, B64, HEX[:-2], "é" * 64])
def test_a_bad_or_missing_hex_signature_fails(value: str | None) -> None:
    assert not hmac_sha256_hex(SECRET)(value, BODY)


def test_another_body_or_another_secret_fails() -> None:
    assert not hmac_sha256_base64(SECRET)(B64, BODY + b" ")
    assert not hmac_sha256_base64("another-secret")(B64, BODY)
    assert not hmac_sha256_hex(SECRET)(HEX, BODY.replace(b"1", b"2"))


def test_bytes_and_text_secrets_sign_alike() -> None:
    assert hmac_sha256_hex(SECRET.encode())(HEX, BODY)


def test_an_empty_secret_is_refused() -> None:
    with pytest.raises(ValueError, match="cannot be empty"):
        hmac_sha256_hex("")


def test_from_header_reads_the_named_header_and_refuses_without_it() -> None:
    verify = from_header("X-Test-Signature", hmac_sha256_hex(SECRET))
    assert verify({"x-test-signature": HEX}, BODY)
    assert not verify({"x-other": HEX}, BODY)
    assert not verify({}, BODY)


def test_the_secret_never_shows() -> None:
    check = hmac_sha256_base64(SECRET)
    cells = [c.cell_contents for c in check.__closure__ or ()]
    shown = repr(check) + "".join(repr(c) for c in cells) + "".join(str(c) for c in cells)
    assert SECRET not in shown
    assert "<secret>" in shown
    key = next(c for c in cells if repr(c) == "<secret>")
    with pytest.raises(TypeError):
        pickle.dumps(key)
