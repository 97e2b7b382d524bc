"""Happy Returns' look-ups (docs/happy-returns-mapping.md): webhooks are the way in; a
refresh looks up only what the ERP knows and no delivery named, once, and never a return
whose webhook state is current (issue 15's figure: no look-up for those)."""

from __future__ import annotations

from datetime import UTC, datetime

from returns_console.domain.codes import Code
from returns_console.services.session import DemoSession

NOW = datetime(2026, 11, 21, 10, tzinfo=UTC)


def test_a_refresh_looks_up_only_what_no_delivery_named(tmp_path) -> None:
    session = DemoSession(tmp_path / "cache.sqlite3", now=NOW, returns=120,
                          platform="happy_returns", erp="d365_bc")
    try:
        hr = session.sandbox.platform
        loaded = session.refresh()
        delivered = set(hr.returns)
        erp_only = {f.return_ref for f in loaded.report.findings
                    if f.code is Code.ERP_RECORD_UNLINKED}
        assert erp_only and not erp_only & delivered
        # one each; none for a delivered return, readable or not
        assert sorted(hr.looked_up) == sorted(erp_only)
        asked = hr.requests
        again = session.refresh()
        assert hr.requests == asked  # asked lately: not again within RECHECK_AFTER
        assert {f.return_ref for f in again.report.findings
                if f.code is Code.ERP_RECORD_UNLINKED} == erp_only
    finally:
        session.close()
