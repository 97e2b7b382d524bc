"""`needs_visible`'s quick look agrees with the full pattern on any body (it only decides
whether the pattern runs), and every form of control character in JSON is caught."""

from __future__ import annotations

import json

from hypothesis import given, settings
from hypothesis import strategies as st

from returns_console.visible import _MAYBE, needs_visible, visible_json

#: Bytes that make up JSON bodies and every form a control character takes in one.
PIECES = st.sampled_from([b"\\", b"u", b"0", b"1", b"9", b"b", b"f", b"r", b"n", b"\"",
                          b"W/", b"\xc2", b"\x9b", b"\xa3", b"\x7f", b"a", b"{", b"}",
                          b"\\u00", b"\\u001b", b"\\u009b", b"\\u007f", b"\\u00e9"])


@settings(max_examples=400, deadline=None)
@given(st.lists(PIECES, max_size=30).map(b"".join))
def test_the_quick_look_agrees_with_the_pattern(body: bytes) -> None:
    assert needs_visible(body) == (_MAYBE.search(body) is not None)


def test_each_form_of_control_character_is_seen_and_made_visible() -> None:
    for text in ("\x1b[2J", "\r", "\b", "\f", "\x7f", "\x9b", "\x00"):
        for ascii_only in (True, False):
            body = json.dumps({"name": f"a{text}b"}, ensure_ascii=ascii_only).encode()
            assert needs_visible(body), body
            shown = visible_json(json.loads(body))["name"]
            assert shown != f"a{text}b" and shown.startswith("a") and shown.endswith("b")


def test_plain_bodies_and_legitimate_escapes_are_left_alone() -> None:
    for value in ({"etag": 'W/"JzQ0Oyc="', "city": "Malmö", "price": "£12"},
                  {"path": "C:/x", "quote": 'say "hi"', "line": "a\nb\tc"}):
        for ascii_only in (True, False):
            assert not needs_visible(json.dumps(value, ensure_ascii=ascii_only).encode())


def test_a_utf16_or_utf32_body_is_made_visible_too() -> None:
    """json reads UTF-16 and UTF-32 bodies as well; their control characters are bytes the
    quick look over UTF-8 does not know, so such a body is looked at string by string."""
    from returns_console.connectors.http import decode_json

    for encoding in ("utf-16", "utf-16-le", "utf-16-be", "utf-32", "utf-32-le"):
        for ascii_only in (True, False):
            body = json.dumps({"n\x1b": "a\x1b[2Jb\x9b"}, ensure_ascii=ascii_only)
            value = decode_json(body.encode(encoding))
            (key, text), = value.items()
            assert "\x1b" not in key + text and "\x9b" not in text, encoding
