"""A capture of a Shopify full read through a bulk operation (docs/vendors/shopify.md §7)
keeps neither the signed link's signature (a credential for a week) nor a customer's
email from the exported JSON Lines: both are redacted like any answer's."""

from __future__ import annotations

import asyncio
from pathlib import Path

from returns_console.sandbox.server import BackgroundServer
from returns_console.services.capture import capture_profile
from tests.contracts import kit


def test_a_bulk_read_captured_keeps_no_signature_and_no_email(tmp_path: Path) -> None:
    box = kit.sandbox("shopify", "netsuite", returns=30)
    emails = {o["email"] for o in box.platform.store.orders if o.get("email")}
    with BackgroundServer(box.app()) as server:
        profile = kit.tuned(box.profile(server.url), shopify={"bulk_full_read": "always"})
        asyncio.run(capture_profile(profile, box.secret, tmp_path / "cap", {}))
        signatures = set(box.platform.bulk.signatures.values())
    assert signatures and emails
    kept = "\n".join(p.read_text(encoding="utf-8", errors="replace")
                     for p in (tmp_path / "cap").rglob("*") if p.is_file())
    assert "bulk-files" in kept and "__parentId" in kept  # the export and its file captured
    assert not [s for s in signatures if s in kept]
    assert not [e for e in emails if e in kept]
