"""The layers stay apart: domain code runs without a terminal, HTTP or a database."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_import_contracts_hold() -> None:
    exe = shutil.which("lint-imports", path=str(Path(sys.executable).parent))
    assert exe, "import-linter is a test dependency"
    done = subprocess.run([exe], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr


def test_check_runs_without_textual_loaded() -> None:
    code = (
        "import sys, runpy\n"
        "sys.argv = ['returns-console', 'check', '--snapshot', "
        "'fixtures/canonical/scenario.json', '--format', 'json']\n"
        "from returns_console import cli\n"
        "try:\n    cli.main()\nexcept SystemExit:\n    pass\n"
        "assert 'textual' not in sys.modules, 'check imported textual'\n"
        "assert 'httpx' not in sys.modules, 'check imported httpx'\n"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr
