"""Benchmark: appending to the audit log (hash-chained, WAL, one transaction a row).

    python benchmarks/audit_bench.py [--rows 1000]

Figures, not assertions. The baseline, measured in the same run, is the same number of
plain SQLite inserts in a WAL database, one transaction each: the ratio is what the chain,
the head file and the append-only triggers cost on top. Target: 1,000 appends well under
5 s on a 2-core machine.
"""

from __future__ import annotations

import argparse
import sqlite3
import tempfile
import time
from pathlib import Path

from returns_console.store.audit import AuditLog

WHO = {"operator": "bench", "profile": "bench", "systems": "swap|d365_bc"}


def appends(folder: Path, rows: int) -> float:
    log = AuditLog(folder / "audit.sqlite3")
    started = time.perf_counter()
    for n in range(rows):
        log.record(**WHO, return_ref=f"R-{n}", action="note", parameters={"n": n},
                   outcome="succeeded")
    took = time.perf_counter() - started
    assert log.verify().rows == rows
    return took


def plain(folder: Path, rows: int) -> float:
    conn = sqlite3.connect(folder / "plain.sqlite3", isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("CREATE TABLE t (n INTEGER, body TEXT)")
    started = time.perf_counter()
    for n in range(rows):
        conn.execute("BEGIN IMMEDIATE")
        conn.execute("INSERT INTO t VALUES (?, ?)", (n, f"R-{n}"))
        conn.execute("COMMIT")
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1000)
    rows = parser.parse_args().rows
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        base = plain(folder, rows)
        took = appends(folder, rows)
    print(f"{rows} audit appends: {took:.2f} s ({rows / took:,.0f}/s); "
          f"plain SQLite inserts: {base:.2f} s; ratio {took / base:.1f}x")


if __name__ == "__main__":
    main()
