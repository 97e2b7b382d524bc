"""Presenter mode leaks nothing (issue 10, item 10): every screen of the console, rendered in
presenter mode, is searched for every value of the demo scenario that identifies the client
or its customers: each customer's email, name and number, the tenant, the store's id and
name, the company, the profile's name, the client id, the hosts and base URLs.

Each screen is looked at twice over: with presenter mode on from the start, and with F2
pressed while that screen is already open (so an open screen has to re-mask itself; before
F2 the same search must find something, or it could not see a leak either).

What is searched is what the operator can see and scroll to: the terminal as rendered (a
dialog over its screen), and the full text of every screen on the stack (every Static, every
table cell, every queue row, the raw JSON, the inputs, the header, the notifications).
"""

from __future__ import annotations

import asyncio
import io
import re
from collections.abc import Iterable
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from rich.console import Console
from textual.widgets import DataTable, Input, Static

from returns_console.domain.actions import plan_fix_reference
from returns_console.domain.codes import Code
from returns_console.services.actions import Actions
from returns_console.services.session import DemoSession
from returns_console.store.audit import AuditLog
from returns_console.systems.d365_bc.simulator import COMPANY_NAME
from returns_console.systems.swap.simulator import STORE_NAME
from returns_console.tui.app import ReturnsConsole
from returns_console.tui.screens.action_form import ActionForm
from returns_console.tui.screens.audit import AuditScreen
from returns_console.tui.screens.close import CloseScreen
from returns_console.tui.screens.help import HelpScreen
from returns_console.tui.screens.preview import PreviewScreen
from returns_console.tui.screens.queue import QueueScreen
from returns_console.tui.screens.raw_record import RawRecordScreen
from returns_console.tui.screens.results import ResultsScreen
from returns_console.tui.screens.return_detail import ReturnScreen
from returns_console.tui.widgets.virtual_table import VirtualTable
from tests.tui.test_action_flows import command, paste, press, seen, settle

SIZE = (200, 60)

#: Keys of the raw records whose values name a customer (Swap and Business Central).
CUSTOMER_KEYS = frozenset({
    "customer_name", "customer_email", "customerNumber", "customerName", "billToName",
    "billToCustomerNumber", "sellToCustomerNumber", "sellToCustomerName", "shipToName",
    "email"})
#: ... and in Business Central's customer records.
CUSTOMER_RECORD_KEYS = frozenset({"number", "displayName", "email"})


def console(session: DemoSession, tmp_path, *, presenter: bool) -> ReturnsConsole:
    return ReturnsConsole(session, presenter=presenter, actions=Actions(
        session, audit_path=tmp_path / "audit.sqlite3", triage_path=tmp_path / "triage.sqlite3",
        operator="tester"))


# -- what identifies the client and its customers --------------------------------------------


def identifying(app: ReturnsConsole, session: DemoSession) -> set[str]:
    """Every identifying value of the scenario, gathered from what the sandbox served (not
    from the masker under test)."""
    profile = session.profile
    values = {profile.platform.options["store"], STORE_NAME, COMPANY_NAME, profile.name,
              profile.erp.options["tenant"], profile.erp.options["client_id"]}
    for side in (profile.platform, profile.erp):
        values.add(side.base_url)
        parts = urlsplit(side.base_url)
        values |= {parts.netloc, parts.hostname or ""}
    values.add(profile.erp.options["token_url"])
    loaded = app.loaded
    for case in loaded.report.cases:
        values |= {case.platform.customer_name or "", case.platform.customer_email or "",
                   case.erp.customer_ref or ""}
        values |= {n.customer_ref or "" for n in case.erp.credit_notes}
    for customer in loaded.master.customers.values():
        values |= {customer.number, customer.email or ""}
    for ref, record in loaded.raw.items():
        keys = CUSTOMER_RECORD_KEYS if ":customers:" in ref else CUSTOMER_KEYS
        values |= set(_values_under(record, keys))
    values.discard("")
    return values


def _values_under(record: Any, keys: frozenset[str]) -> Iterable[str]:
    if isinstance(record, dict):
        for key, value in record.items():
            if key in keys and isinstance(value, str) and value.strip():
                yield value.strip()
            else:
                yield from _values_under(value, keys)
    elif isinstance(record, list):
        for value in record:
            yield from _values_under(value, keys)


class Search:
    """One pattern for all the values: whole words, any case (so "Customer 1" is not found
    in "Customer 15", nor C00001 in a GUID); plus the client's name as any part of a word."""

    def __init__(self, values: set[str]) -> None:
        self.values = values
        alternatives = "|".join(re.escape(v) for v in sorted(values, key=len, reverse=True))
        self.pattern = re.compile(rf"(?<!\w)(?:{alternatives})(?!\w)|northwind", re.IGNORECASE)

    def __call__(self, text: str) -> set[str]:
        return {m.group(0) for m in self.pattern.finditer(text)}


# -- everything the operator can see ------------------------------------------------------------


def plain(renderable: Any) -> str:
    """A Static's content (str, Text, Syntax, Table ...) as plain text, unwrapped."""
    out = Console(width=400, file=io.StringIO(), record=True, color_system=None)
    out.print(renderable)
    return out.export_text()


def everything(app: ReturnsConsole) -> str:
    """All a screen holds, scrolled to or not, for every screen on the stack."""
    parts = [seen(app), app.title, app.sub_title]
    parts += [n.message for n in app._notifications]
    for screen in app.screen_stack:
        parts += [plain(s.content) for s in screen.query(Static)]
        parts += [i.value for i in screen.query(Input)]
        for table in screen.query(DataTable):
            parts += [str(c.label) for c in table.columns.values()]
            parts += [str(c) for n in range(table.row_count) for c in table.get_row_at(n)]
        if isinstance(screen, QueueScreen) and screen.query(VirtualTable):
            parts += [str(c) for key in screen.shown for c in screen._cells(key)]
        if isinstance(screen, RawRecordScreen):
            parts.append(screen.json_text())
    return "\n".join(parts)


class Tour:
    """Looks at each screen: presenter on from the start, or F2 pressed while it is open."""

    def __init__(self, pilot, search: Search, *, toggle: bool) -> None:
        self.pilot = pilot
        self.search = search
        self.toggle = toggle
        self.looked: list[str] = []

    async def look(self, name: str, kind: type, *, shows: bool = True) -> None:
        app = self.pilot.app
        assert isinstance(app.screen, kind), (name, app.screen)
        if self.toggle:
            assert not app.presenter
            if shows:  # the search sees what it is after: the check below can fail
                assert self.search(everything(app)), f"{name}: nothing to mask before F2"
            await press(self.pilot, "f2")
            assert app.presenter and isinstance(app.screen, kind)
        else:
            assert app.presenter
        leaked = self.search(everything(app))
        assert not leaked, f"{name} shows in presenter mode: {sorted(leaked)}"
        assert "presenter mode" in seen(app) or not app.screen.query("#environment")
        if self.toggle:
            await press(self.pilot, "f2")  # off again, for the next screen
            assert not app.presenter
        self.looked.append(name)


# -- the tour -----------------------------------------------------------------------------------


def first(app, code: Code):
    return next(f for f in app.report.findings if f.code == code)


async def open_return(pilot, ref: str) -> ReturnScreen:
    await command(pilot, f"return {ref}")
    screen = pilot.app.screen
    assert isinstance(screen, ReturnScreen) and screen.case.return_ref == ref
    return screen


async def back_to_queue(pilot) -> QueueScreen:
    while not isinstance(pilot.app.screen, QueueScreen):
        await press(pilot, "escape")
    return pilot.app.screen


@pytest.mark.parametrize("toggle", [False, True], ids=["presenter-from-start", "f2-on-open"])
async def test_no_screen_shows_anything_that_identifies_the_client_or_a_customer(
        demo, tmp_path, toggle: bool) -> None:
    app = console(demo, tmp_path, presenter=not toggle)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        search = Search(identifying(app, demo))
        assert {"C00036", "northwind-sandbox", "store_northwind", COMPANY_NAME,
                STORE_NAME} <= search.values
        tour = Tour(pilot, search, toggle=toggle)
        missing = first(app, Code.CREDIT_NOTE_MISSING)
        unlinked = first(app, Code.ERP_RECORD_UNLINKED)
        unrefunded = first(app, Code.RECEIPT_NOT_POSTED)
        # A note naming the customer: in the queue's audit log and the return's.
        case = next(c for c in app.report.cases if c.return_ref == missing.return_ref)
        who = f"{case.platform.customer_name} <{case.platform.customer_email}>"
        await asyncio.to_thread(app.actions.set_triage, missing, "note", f"{who} called")

        # The queue, and its help.
        queue = app.screen
        await tour.look("queue", QueueScreen)
        await press(pilot, "question_mark")
        await tour.look("help over the queue", HelpScreen)
        await press(pilot, "escape")

        # A bulk re-queue whose write the ERP fails: the preview names the customer, the
        # results the URL with the tenant (the error), and so do the audit rows.
        for finding in (missing, unrefunded):
            key = next(k for k in queue.shown if queue.queue.by_key[k] == finding)
            queue.query_one("#queue", VirtualTable).move_cursor(queue.shown.index(key))
            await press(pilot, "space")
        await press(pilot, "u")
        preview = app.screen
        assert isinstance(preview, PreviewScreen)
        assert [p.allowed for p in preview.plans] == [True, False]
        await tour.look("bulk re-queue preview (one refused)", PreviewScreen)
        httpx.post(f"{demo.server.url}/_sandbox/fail-writes",
                   params={"count": 1, "status": 503}).raise_for_status()
        await press(pilot, "y")
        results = app.screen
        assert isinstance(results, ResultsScreen)
        assert any(not o.ok and "northwind-sandbox" in o.message for o in results.outcomes)
        await tour.look("results", ResultsScreen)
        await press(pilot, "escape")

        # The return with its customer, its raw records, its help.
        await open_return(pilot, missing.return_ref)
        await tour.look("return", ReturnScreen)
        for side in ("p", "e"):
            await press(pilot, side)
            await tour.look(f"raw record ({side})", RawRecordScreen)
            await press(pilot, "escape")
        await press(pilot, "question_mark")
        await tour.look("help over the return", HelpScreen)
        await press(pilot, "escape")

        # Re-queue from the return: previewed (customer, tenant URL), applied, then refused.
        await press(pilot, "u")
        preview = app.screen
        assert isinstance(preview, PreviewScreen) and preview.can_apply
        assert any("customer C" in change for change in preview.plans[0].changes)
        assert preview.plans[0].request["body"]["customerNumber"]
        await tour.look("re-queue preview", PreviewScreen)
        await press(pilot, "y")
        assert isinstance(app.screen, ReturnScreen)
        await press(pilot, "u")
        refused = app.screen
        assert isinstance(refused, PreviewScreen) and not refused.can_apply
        await tour.look("refused preview", PreviewScreen)
        await press(pilot, "escape")

        # The return's audit log: rows whose request and parameters hold the tenant's URL and
        # the customer's number (the failed write's error says the URL; a row as a connector
        # that describes its request by URL writes it), and one of them in full.
        number = case.erp.customer_ref or next(
            n.customer_ref for n in case.erp.credit_notes if n.customer_ref)
        url = (f"{demo.profile.erp.base_url}/v2.0/{demo.profile.erp.options['tenant']}"
               f"/sandbox/api/v2.0/companies(x)/customers?$filter=number eq '{number}'")
        with AuditLog(tmp_path / "audit.sqlite3") as log:
            log.record(operator="tester", profile=demo.profile.name, systems="swap|d365_bc",
                       return_ref=missing.return_ref, action="requeue_posting",
                       parameters={"customer": number, "email": case.platform.customer_email,
                                   "url": url},
                       request={"method": "GET", "url": url}, outcome="refused",
                       error=f"{COMPANY_NAME} ({STORE_NAME}): customer {number} at {url}")
        await press(pilot, "L")
        audit = app.screen
        assert isinstance(audit, AuditScreen)
        sent = [n for n, e in enumerate(audit.shown) if e.request
                and "northwind-sandbox" in str(e.request) and number in str(e.parameters)]
        assert sent and any("northwind-sandbox" in (e.error or "") for e in audit.shown
                            if e.outcome == "failed")
        await tour.look("audit log of the return", AuditScreen)
        audit.query_one("#audit", DataTable).move_cursor(row=sent[0])
        await press(pilot, "enter")
        await tour.look("audit row in full", RawRecordScreen)
        await back_to_queue(pilot)
        await press(pilot, "L")
        await tour.look("audit log of every return", AuditScreen)
        await press(pilot, "escape")

        # Fix reference on the unlinked ERP record: the form, and a preview that names both
        # customers (the link goes to another customer's return).
        await open_return(pilot, unlinked.return_ref)
        await tour.look("unlinked ERP record", ReturnScreen)
        await press(pilot, "f")
        assert isinstance(app.screen, ActionForm)
        await tour.look("fix reference form", ActionForm)
        ours = next(c for c in app.report.cases if c.return_ref == unlinked.return_ref)
        record = app.screen.query_one("#field-record", Input).value
        cases = app.report.cases
        other = next(c for c in cases if c.platform.lines and not c.unlinked
                     and c.erp.customer_ref and any(
                         "customer is" in change for change in plan_fix_reference(
                             ours, record, c.return_ref, cases).changes))
        await paste(pilot, other.return_ref)
        await press(pilot, "enter", "enter")
        preview = app.screen
        assert isinstance(preview, PreviewScreen) and preview.can_apply, preview.plans
        assert any(f"customer is {other.erp.customer_ref}" in change
                   for change in preview.plans[0].changes)
        await tour.look("fix reference preview", PreviewScreen)
        await back_to_queue(pilot)

        # The month-end close view.
        await command(pilot, "close 2026-11")
        await tour.look("month-end close", CloseScreen, shows=False)
        await press(pilot, "escape")

        assert len(tour.looked) == 17
