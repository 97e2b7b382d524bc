"""Benchmark: the console's refresh, which keeps its last read and findings in memory.

    python benchmarks/session_refresh_bench.py [--returns 10000] [--rounds 3] [--erp d365_fo]

The sandbox runs in its own process (10,000 returns by default). This process holds the
console's own session object (`services.session.LiveSession`, what `returns-console
--profile NAME` refreshes through; no terminal): its first refresh reads everything (the
cache is empty), then in each round 1% of returns change (`POST /_sandbox/touch`) and the
session refreshes again: it reads what changed, lays it over the read it kept, assembles
only the link keys touched and checks again only the returns that may have changed. Wall and
CPU time of each refresh, against the first one's; how many returns were checked again; and
the sandbox process's CPU time while answering (its share of the wall is the simulator's,
not the client's).
The last line is a JSON object of the figures (for benchmarks/all.py).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))

from live_check_bench import NOW, SEED, free_port, start_sandbox, user_environment

from returns_console.sandbox.demo import build_sandbox
from returns_console.services.demo import demo_mappings
from returns_console.services.session import LiveSession


def rss_mb(field: str = "VmRSS") -> float:
    """This process's resident memory (VmRSS now, VmHWM its peak), in MB."""
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    return 0.0


def cpu_of(pid: int) -> float:
    """Another process's CPU seconds so far (user + system, from /proc/PID/stat)."""
    with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def start_pair_sandbox(returns: int, port: int, env: dict[str, str], erp: str):
    """The sandbox of Swap and another ERP (as fo_check_bench.py starts F&O's)."""
    import fo_check_bench

    fo_check_bench.ERP = erp
    return fo_check_bench.start_sandbox(returns, port, env)


def timed(session: LiveSession, sandbox_pid: int) -> dict[str, float]:
    began, cpu, served = time.perf_counter(), time.process_time(), cpu_of(sandbox_pid)
    loaded = session.refresh()
    return {"wall": time.perf_counter() - began, "cpu": time.process_time() - cpu,
            "sandbox_cpu": cpu_of(sandbox_pid) - served,
            "returns": loaded.report.result.returns_checked,
            "checked": session._rechecker.checked if session._rechecker else 0}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--returns", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--erp", default="d365_bc", help="the ERP Swap is paired with")
    args = parser.parse_args()
    home = Path(tempfile.mkdtemp(prefix="rc-session-bench-"))
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    print(f"building and serving {args.returns:,} returns ...", flush=True)
    env = {**user_environment(), "RETURNS_CONSOLE_HOME": str(home)}
    proc = (start_sandbox(args.returns, port, env) if args.erp == "d365_bc"
            else start_pair_sandbox(args.returns, port, env, args.erp))
    try:
        box = build_sandbox(datetime.fromisoformat(NOW.replace("Z", "+00:00")),
                            returns=args.returns, seed=SEED, erp=args.erp)
        mappings = demo_mappings(box)
        session = LiveSession(box.profile(base), box.secret, lambda: mappings,
                              home / "cache.sqlite3", inbox_path=home / "inbox.sqlite3")
        session.keeps_heap = True  # as the console's process runs it (cli.py)
        first = timed(session, proc.pid)
        rounds = []
        touched = max(1, args.returns // 100)
        for _ in range(args.rounds):
            httpx.post(f"{base}/_sandbox/touch", params={"count": touched}, timeout=60)
            rounds.append(timed(session, proc.pid))
        after = rss_mb()
        session.close()
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    wall = statistics.median(r["wall"] for r in rounds)
    cpu = statistics.median(r["cpu"] for r in rounds)
    figures = {
        "returns": args.returns, "erp": args.erp,
        "session_first_wall_s": round(first["wall"], 3),
        "session_first_cpu_s": round(first["cpu"], 3),
        "session_refresh_wall_s": round(wall, 3),
        "session_refresh_cpu_s": round(cpu, 3),
        "session_refresh_wall_ratio": round(wall / first["wall"], 3),
        "session_refresh_cpu_ratio": round(cpu / first["cpu"], 3),
        "session_rechecked": round(statistics.median(r["checked"] for r in rounds)),
        "session_refresh_sandbox_cpu_s": round(
            statistics.median(r["sandbox_cpu"] for r in rounds), 3),
        "session_rss_mb": round(after),
        "session_peak_rss_mb": round(rss_mb("VmHWM")),
    }
    print(f"returns:                 {args.returns:,} ({touched} changed per round)")
    print(f"first refresh (full):    {first['wall']:.2f} s wall, {first['cpu']:.2f} s CPU")
    print(f"refresh after 1% changed: {wall:.2f} s wall "
          f"({figures['session_refresh_wall_ratio']:.2f}x), {cpu:.2f} s CPU "
          f"({figures['session_refresh_cpu_ratio']:.2f}x), "
          f"{figures['session_rechecked']} returns checked again (median of {args.rounds}); "
          f"the sandbox spent {figures['session_refresh_sandbox_cpu_s']:.2f} s of CPU "
          "answering it")
    print(f"memory:                  {after:.0f} MB resident after the last refresh, "
          f"{figures['session_peak_rss_mb']} MB peak (this process: the session, no terminal)")
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
