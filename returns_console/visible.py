"""Control characters from a source made visible, so no text a system sent can drive the
terminal: `ESC]0;…BEL` would retitle it, `ESC[2J` clear it, a bare CR overwrite a line.

Every JSON body a connector reads passes `visible_json()` (one scan of the bytes finds the
rare body that needs it), so the canonical model, the raw records, the findings built from
them and the cache only ever hold visible text; error text from a server passes `visible()`.
Newline and tab stay: they are layout, not control, and Rich lays them out itself.
"""

from __future__ import annotations

import re
from typing import Any

#: C0 but newline and tab, DEL, C1.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f\x80-\x9f]")
#: In a JSON body control characters can only arrive escaped (`\u001b`, `\r`, `\b`, `\f`)
#: or, for C1 and DEL, as raw bytes: where none of these appear, no string needs a look.
_MAYBE = re.compile(rb"\\u00[0-1][0-9a-fA-F]|\\u00[89][0-9a-fA-F]|\\u007[fF]|\\[rbf]|"
                    rb"\xc2[\x80-\x9f]|\x7f")


def _picture(match: re.Match[str]) -> str:
    code = ord(match.group())
    if code < 0x20:
        return chr(0x2400 + code)  # ␛ ␇ ␍ …: the Unicode control pictures
    if code == 0x7F:
        return "\u2421"  # ␡
    return f"\\x{code:02x}"  # C1 has no picture: its escape, as text


def visible(text: str) -> str:
    """`text` with every control character but newline and tab shown as a visible sign."""
    return _CONTROL.sub(_picture, text) if _CONTROL.search(text) else text


#: What `_MAYBE`'s forms begin with, looked for first: a pattern with a literal first byte
#: and plain byte searches pass over megabytes in milliseconds, where `_MAYBE`'s alternation
#: costs about ten nanoseconds a byte. Only a body holding one is searched with `_MAYBE`.
_ESCAPE = re.compile(rb"\\[ubfr]")


def needs_visible(body: bytes) -> bool:
    return ((b"\xc2" in body or b"\x7f" in body or _ESCAPE.search(body) is not None)
            and _MAYBE.search(body) is not None)


def visible_json(value: Any) -> Any:
    """Every string (keys too) in a decoded JSON value made visible, in place where it can
    be; iterative, so a deeply nested body cannot exhaust the stack."""
    if isinstance(value, str):
        return visible(value)
    stack = [value]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            for key in list(node):
                item = node[key]
                if isinstance(item, str):
                    item = visible(item)
                elif isinstance(item, dict | list):
                    stack.append(item)
                shown = visible(key) if isinstance(key, str) else key
                if shown != key:
                    del node[key]
                node[shown] = item
        elif isinstance(node, list):
            for n, item in enumerate(node):
                if isinstance(item, str):
                    node[n] = visible(item)
                elif isinstance(item, dict | list):
                    stack.append(item)
    return value
