"""The return screen, driven by Pilot: every section, the raw record modal, presenter mode.

The case is R-100017 of the canonical fixture (refund and credit memo differ on items),
bent so one SKU is unknown: three findings with three different actions.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

from rich.text import Text
from textual.pilot import Pilot
from textual.widgets import DataTable, Static

from returns_console import systems
from returns_console.domain.codes import Code
from returns_console.domain.findings import Finding
from returns_console.domain.model import ReturnCase, dump_cases, parse_cases
from returns_console.domain.reconcile import reconcile_case
from returns_console.services.check import check_snapshot
from returns_console.services.snapshot_io import load_snapshot
from returns_console.tui.app import ReturnsConsole
from returns_console.tui.screens.raw_record import RawRecordScreen
from returns_console.tui.screens.return_detail import ReturnScreen, fit

FIXTURE = Path(__file__).resolve().parents[2] / "fixtures" / "canonical" / "scenario.json"
SNAPSHOT = load_snapshot(FIXTURE)
SIZE = (160, 48)
NAME, EMAIL = "Customer 36", "customer00036@example.com"
PLATFORM_REF, MEMO_REF, ORDER_REF = "swap:R-100017", "d365_bc:cm-000017", "d365_bc:RO-000017"
RAW: dict[str, Any] = {
    PLATFORM_REF: {"rma_number": "R-100017", "customer_name": NAME, "customer_email": EMAIL,
                   "total": Decimal("173.70"), "notes": f"{NAME} asked for a refund"},
    MEMO_REF: {"@odata.context": "https://api.businesscentral.dynamics.com/v2.0/t/api",
               "number": "PCM000017", "sellToCustomerName": NAME,
               "billToAddressLine1": "1 High Street", "email": EMAIL},
}


def bent_case() -> ReturnCase:
    """R-100017 with an unknown SKU, raw refs on both sides, and the customer's email and a
    hostname in a stage's own words (as a system might write them)."""
    case = next(c for c in SNAPSHOT.returns if c.return_ref == "R-100017")
    data = dump_cases([case])[0]
    platform, erp = data["platform"], data["erp"]
    platform["lines"][1]["sku"] = "BAG-TOTE-XX"
    platform["raw_ref"] = PLATFORM_REF
    platform["stages"]["in_transit"]["detail"] = f"label sent to {EMAIL} by labels.swap-os.com"
    erp["stages"]["authorised"]["raw_ref"] = ORDER_REF
    erp["stages"]["credited"]["raw_ref"] = MEMO_REF
    erp["credit_notes"][0]["raw_ref"] = MEMO_REF
    return parse_cases([data])[0]


CASE = bent_case()
FINDINGS: list[Finding] = [f for f in reconcile_case(CASE, SNAPSHOT.context(names=systems.names()))
                           if not f.delay]


def app() -> ReturnsConsole:
    return ReturnsConsole(lambda: check_snapshot(SNAPSHOT))


async def open_return(pilot: Pilot, **kwargs: Any) -> ReturnScreen:
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()
    screen = ReturnScreen(CASE, FINDINGS, mappings=SNAPSHOT.mappings, **kwargs)
    await pilot.app.push_screen(screen)
    await pilot.pause()
    return screen


async def press_and_settle(pilot: Pilot, key: str) -> None:
    await pilot.press(key)
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()


def rows(screen: ReturnScreen, table: str) -> list[list[str]]:
    t = screen.query_one(f"#{table}", DataTable)
    return [[str(cell) for cell in t.get_row_at(n)] for n in range(t.row_count)]


def shown(screen: ReturnScreen, widget: str) -> str:
    return str(screen.query_one(f"#{widget}", Static).render())


def all_text(screen: ReturnScreen) -> str:
    """Every word the screen's widgets render, tables included."""
    parts = [str(s.render()) for s in screen.query(Static)]
    for table in screen.query(DataTable):
        parts += [str(c) for n in range(table.row_count) for c in table.get_row_at(n)]
    return "\n".join(parts)


def test_the_case_has_several_findings_with_different_actions() -> None:
    assert {f.code for f in FINDINGS} == {Code.SKU_UNKNOWN, Code.QUANTITY_MISMATCH,
                                         Code.REFUND_AMOUNT_MISMATCH}


async def test_the_title_and_the_stage_board_name_both_systems_and_the_mismatches() -> None:
    async with app().run_test(size=SIZE) as pilot:
        screen = await open_return(pilot)
        title = shown(screen, "title")
        for part in ("R-100017", "#1017", NAME, EMAIL, "Swap Commerce",
                     "Dynamics 365 Business Central"):
            assert part in title
        board = {row[0]: row for row in rows(screen, "stages")}
        assert len(board) == 7
        assert board["authorised"][3] == "SKU_UNKNOWN"
        assert board["credited"][3] == "REFUND_AMOUNT_MISMATCH"
        # QUANTITY_MISMATCH is about the ERP's record: only that cell is marked.
        assert board["received"][2].startswith("✗") and not board["received"][1].startswith("✗")
        assert board["in_transit"][3] == "" and "✗" not in "".join(board["in_transit"])


async def test_findings_say_why_and_what_to_do_and_money_shows_the_difference() -> None:
    async with app().run_test(size=SIZE) as pilot:
        screen = await open_return(pilot)
        findings = shown(screen, "findings")
        assert "REFUND_AMOUNT_MISMATCH (critical, finance)" in findings
        assert "why: The ledger and the money actually refunded disagree." in findings
        money = {row[0]: row[1:] for row in rows(screen, "money")}
        assert money["items"] == ["173.70", "193.00", "-19.30"]
        assert money["tax"] == ["38.60", "38.60", "0.00"]
        assert money["total"] == ["212.30", "231.60", "-19.30"]
        assert "credit note PCM000017 (posted 2026-11-16)" in shown(screen, "money-heading")


async def test_lines_pair_each_sku_with_its_erp_item() -> None:
    async with app().run_test(size=SIZE) as pilot:
        screen = await open_return(pilot)
        lines = rows(screen, "lines")
        assert lines[0][:5] == ["JKT-RAIN-M", "2 each", "JKT-RAIN-M", "2 PCS", "2 → 2"]
        assert lines[0][5:9] == ["not_as_described → DESCR", "sellable → RESELL",
                                 "uk-returns → MAIN", "same code"]
        assert (lines[1][0], lines[1][2], lines[1][-1]) == ("BAG-TOTE-XX", "—", "SKU_UNKNOWN")
        assert (lines[2][0], lines[2][2], lines[2][-1]) == ("—", "BAG-TOTE", "QUANTITY_MISMATCH")


async def test_the_timeline_merges_both_sides_in_time_order() -> None:
    async with app().run_test(size=SIZE) as pilot:
        screen = await open_return(pilot)
        events = rows(screen, "timeline")
        assert [e[0] for e in events] == sorted(e[0] for e in events)
        assert [(e[1], e[2]) for e in events[:3]] == [
            ("platform", "authorised"), ("ERP", "authorised"), ("platform", "in_transit")]
        assert events[-1][1:] == ["ERP", "credited", "done", "credit note (Open)", "PCM000017"]


async def test_actions_list_what_applies_with_the_codes_they_fix() -> None:
    async with app().run_test(size=SIZE) as pilot:
        screen = await open_return(pilot)
        actions = shown(screen, "actions").splitlines()
        assert actions[0] == "remap SKU (m): fixes SKU_UNKNOWN"
        assert actions[1] == "fix reference (f): fixes QUANTITY_MISMATCH"
        assert actions[2].startswith("no console action: REFUND_AMOUNT_MISMATCH")


async def test_p_shows_the_platform_record_and_escape_closes_it() -> None:
    async with app().run_test(size=SIZE) as pilot:
        screen = await open_return(pilot, raw=RAW.get)
        await press_and_settle(pilot, "p")
        modal = pilot.app.screen
        assert isinstance(modal, RawRecordScreen)
        assert modal.records == [(PLATFORM_REF, RAW[PLATFORM_REF])]
        assert '"total": "173.70"' in modal.json_text()
        assert EMAIL in modal.json_text()
        await press_and_settle(pilot, "escape")
        assert pilot.app.screen is screen


async def test_e_shows_every_erp_record_once_and_says_which_were_not_kept() -> None:
    async with app().run_test(size=SIZE) as pilot:
        await open_return(pilot, raw=RAW.get)
        await press_and_settle(pilot, "e")
        modal = pilot.app.screen
        assert isinstance(modal, RawRecordScreen)
        assert [ref for ref, _ in modal.records] == [ORDER_REF, MEMO_REF]
        text = modal.json_text()
        assert f"No raw record kept for {ORDER_REF} (opened from a snapshot file" in text
        assert '"number": "PCM000017"' in text
        await press_and_settle(pilot, "q")
        assert isinstance(pilot.app.screen, ReturnScreen)


async def test_with_no_raw_records_the_modal_says_so_plainly() -> None:
    async with app().run_test(size=SIZE) as pilot:
        await open_return(pilot)
        await press_and_settle(pilot, "p")
        modal = pilot.app.screen
        assert isinstance(modal, RawRecordScreen)
        assert modal.json_text().endswith(
            f"No raw record kept for {PLATFORM_REF} (opened from a snapshot file, or the "
            "source was not read this session)")


async def test_presenter_mode_masks_the_customer_and_hosts_everywhere() -> None:
    async with app().run_test(size=SIZE) as pilot:
        screen = await open_return(pilot, raw=RAW.get, presenter=True)
        text = all_text(screen)
        assert "C••• 3•••" in text and "c•••@e•••.com" in text
        for secret in (NAME, EMAIL, "example.com", "swap-os.com"):
            assert secret.casefold() not in text.casefold()
        screenshot = pilot.app.export_screenshot().replace("&#160;", " ")
        assert "C••• 3•••" in screenshot and NAME not in screenshot
        assert "example.com" not in screenshot
        assert "R-100017" in text and "REFUND_AMOUNT_MISMATCH" in text

        for key in ("p", "e"):
            await press_and_settle(pilot, key)
            modal = pilot.app.screen
            assert isinstance(modal, RawRecordScreen)
            raw = modal.json_text()
            for secret in (NAME, EMAIL, "1 High Street", "businesscentral"):
                assert secret not in raw
            await press_and_settle(pilot, "escape")
        assert pilot.app.screen is screen


async def test_the_raw_json_in_presenter_mode_keeps_everything_but_the_customer() -> None:
    async with app().run_test(size=SIZE) as pilot:
        await open_return(pilot, raw=RAW.get, presenter=True)
        await press_and_settle(pilot, "e")
        raw = pilot.app.screen.json_text()
        assert '"sellToCustomerName": "C••• 3•••"' in raw
        assert '"billToAddressLine1": "1••• H••• S•••"' in raw
        assert '"@odata.context": "https://•••/v2.0/t/api"' in raw
        assert '"number": "PCM000017"' in raw


async def test_a_failing_raw_lookup_is_a_notification() -> None:
    def broken(ref: str) -> Any:
        raise OSError("the cache is locked")

    async with app().run_test(size=SIZE) as pilot:
        screen = await open_return(pilot, raw=broken)
        await press_and_settle(pilot, "p")
        assert pilot.app.screen is screen
        assert any("cache is locked" in n.message for n in pilot.app._notifications)


async def test_the_existing_positional_call_still_works_and_bindings_have_ids() -> None:
    async with app().run_test(size=SIZE) as pilot:
        await pilot.app.workers.wait_for_complete()
        await pilot.pause()
        screen = ReturnScreen(CASE, FINDINGS)
        await pilot.app.push_screen(screen)
        await pilot.pause()
        ids = {b.id for b in ReturnScreen.BINDINGS} | {b.id for b in RawRecordScreen.BINDINGS}
        assert {"return.back", "return.raw_platform", "return.raw_erp", "raw.close",
                "return.remap_sku", "return.fix_reference", "return.requeue",
                "return.audit"} <= ids
        assert None not in ids
        # Without the mappings, a SKU and an item with different codes are paired by position.
        paired = rows(screen, "lines")[1]
        assert (paired[0], paired[2], paired[-2]) == ("BAG-TOTE-XX", "BAG-TOTE", "position")


def test_fit_truncates_free_text_first_and_never_below_a_label() -> None:
    def table() -> list[list[Text]]:
        return [[Text("x" * 40), Text("SKU_UNKNOWN, QUANTITY_MISMATCH")],
                [Text("short"), Text("TAX_MISMATCH")]]

    rows = table()
    fit(rows, ("a long label", "mismatch"), 60, [(0,), (1,)])
    # 60 cells, less two of padding per column, less the 30 the codes keep: 26 are left.
    assert rows[0][0].plain == "x" * 25 + "…"
    assert rows[0][1].plain == "SKU_UNKNOWN, QUANTITY_MISMATCH"
    rows = table()
    fit(rows, ("a long label", "mismatch"), 30, [(0,), (1,)])
    assert rows[0][0].cell_len == len("a long label")
    assert rows[0][1].plain == "SKU_UNKNOWN, …"  # only once the free text can give no more


async def test_every_table_fits_a_narrower_screen_without_scrolling_sideways() -> None:
    async with app().run_test(size=(120, 40)) as pilot:
        screen = await open_return(pilot)
        for name in ("stages", "lines", "timeline"):
            table = screen.query_one(f"#{name}", DataTable)
            assert table.virtual_size.width <= table.size.width, name
        assert "…" in "".join(rows(screen, "stages")[1])


async def test_switching_presenter_mode_while_open_masks_every_section_at_once() -> None:
    async with app().run_test(size=SIZE) as pilot:
        screen = await open_return(pilot)
        assert NAME in all_text(screen)
        screen.set_presenter(True)
        await pilot.pause()
        assert NAME not in all_text(screen) and EMAIL not in all_text(screen)
        screen.set_presenter(False)
        await pilot.pause()
        assert EMAIL in shown(screen, "title")


async def test_each_credit_note_shows_its_posting_date_and_accounting_period() -> None:
    """Issue 10.13: finance sees when a credit was posted and whether its period is open."""
    async with app().run_test(size=SIZE) as pilot:
        screen = await open_return(pilot, master=SNAPSHOT.erp_master)
        heading = shown(screen, "money-heading")
        assert "credit note PCM000017 (posted 2026-11-16 in Nov 2026, open)" in heading
