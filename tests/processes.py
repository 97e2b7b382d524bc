"""Worker processes for the tests that race several processes against each other.

They are forked from one forkserver that imported the code under test once, instead of each
being spawned as a new interpreter that imports it all again (about a second of CPU per
process, ten at a time, on a two-core CI machine). Each worker is still a process of its own:
its own pid, its own interpreter state, its own SQLite connections and file locks, started
after the test began, exactly as with "spawn". Forking the forkserver is safe where forking
pytest would not be: it is single-threaded and holds no connection or lock.
"""

from __future__ import annotations

import multiprocessing as mp
from multiprocessing.context import BaseContext

#: Imported once by the forkserver, so a forked worker starts with them loaded. One list for
#: every test that uses it: the forkserver is started once per pytest process, by whichever of
#: them comes first (a module missing here is simply imported by the worker itself).
PRELOAD = [
    "returns_console.services.actions",
    "returns_console.store.audit",
    "returns_console.store.leases",
    "returns_console.store.triage",
    "returns_console.store.inbox",
    "returns_console.inbox.receiver",
    "tests.factories",
    "tests.inbox.test_concurrent",
    "tests.integration.test_concurrent_writes",
]


def context() -> BaseContext:
    ctx = mp.get_context("forkserver")
    ctx.set_forkserver_preload(PRELOAD)
    return ctx
