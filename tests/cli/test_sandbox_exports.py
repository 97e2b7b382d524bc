"""The sandbox prints its demo credentials as `export` lines to paste into a shell: each
must set exactly its variable to exactly its value (NetSuite's private key spans lines)."""

from __future__ import annotations

import os
import subprocess

import pytest

from returns_console.cli import export_line

VALUES = [
    "shpat_sandbox_demo_token_0000",
    "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBg\nkqhkiG9w0BAQEF\n-----END PRIVATE KEY-----",
    "it's $HOME; `date` & echo hi",
]


@pytest.mark.parametrize("value", VALUES)
def test_a_pasted_export_line_sets_the_value_exactly(value: str) -> None:
    line = export_line("RETURNS_CONSOLE_DEMO_SECRET", value)
    script = f"{line}\nprintf %s \"$RETURNS_CONSOLE_DEMO_SECRET\"\n"
    done = subprocess.run(["bash", "-c", script], capture_output=True, text=True, timeout=10,
                          env={"PATH": os.environ.get("PATH", "/usr/bin:/bin")})
    assert done.returncode == 0 and done.stderr == ""
    assert done.stdout == value
