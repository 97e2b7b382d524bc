"""One return, both systems side by side: every stage, the mismatches, what they mean, the
money and the lines, when each thing happened, and what the console can do about it.

Everything that came from an API is a `rich.text.Text` (never markup), and in presenter mode
it passes through the masker first, so no customer detail or hostname reaches the screen.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from itertools import zip_longest
from typing import Any, ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Header, Static
from textual.worker import Worker, WorkerState

from ...domain.catalogue import CATALOGUE
from ...domain.close import periods
from ...domain.codes import Action, Component, Severity, Side, Stage
from ...domain.findings import Finding
from ...domain.model import CreditNote, ErpLine, PlatformLine, ReturnCase, StageView
from ...domain.reference import ErpMaster, Mappings, Policy, SkuMapping
from ...domain.timeline import Event, timeline
from ...domain.view import CaseView, Context
from ...systems import display_name
from ..format import SEVERITY_STYLE, money, status, when
from ..presenter import Masker, Presenting, customers_of
from ..requests import ActionRequested, TriageRequested
from ..widgets.environment_bar import EnvironmentBar
from ..widgets.measured_table import MeasuredTable
from .raw_record import RawRecordScreen

RawLookup = Callable[[str], Any | None]

ACTION_LABELS: dict[Action, str] = {
    Action.REMAP_SKU: "remap SKU",
    Action.REMAP_CODE: "remap code",
    Action.FIX_REFERENCE: "fix reference",
    Action.REQUEUE_POSTING: "re-queue posting",
}
#: The key each action is on, shown next to it.
ACTION_KEYS = {Action.REMAP_SKU: "m", Action.REMAP_CODE: "c", Action.FIX_REFERENCE: "f",
               Action.REQUEUE_POSTING: "u"}
STAGE_COLUMNS = ("stage", "platform", "ERP", "mismatch")
MONEY_COLUMNS = ("component", "platform", "ERP", "difference")
#: Each side-by-side cell reads "platform → ERP" (e.g. "sellable → RESELL").
LINE_COLUMNS = ("SKU", "qty", "ERP item", "qty", "received", "reason", "condition",
                "location", "paired by", "mismatch")
TIMELINE_COLUMNS = ("time", "side", "stage", "status", "what", "record ids")
#: Columns that give way (with an ellipsis) when a table is wider than the screen, in
#: tiers: free text first; the codes only when nothing else is left, as they are what the
#: operator acts on.
FLEXIBLE: dict[str, tuple[tuple[int, ...], ...]] = {
    "stages": ((1, 2), (3,)),
    "lines": ((0, 2, 5, 6, 7), (9,)),
    "timeline": ((4, 5),),
}
#: Cells the screen keeps beside a table: the body's margin and its scrollbar.
_CHROME = 4
_NARROWEST = 8
#: "Now" for the display's CaseView: later than any posting, as the engine's real now is
#: (it only orders credit notes that carry no time; the pairing never reads the clock).
_LATER = datetime(9999, 1, 1, tzinfo=UTC)


def _no_raw(ref: str) -> Any | None:
    return None


# ---------------------------------------------------------------- pure helpers


@dataclass(frozen=True, slots=True)
class LineRow:
    """A platform line and the ERP line that answers it; either may be missing."""

    platform: PlatformLine | None
    erp: ErpLine | None
    #: How the two were matched: "same code", "mapping", "position" (a guess), or "".
    by: str
    #: The SKU mapping in force for the platform line, if any: shown even when the ERP has
    #: no line for it yet (just remapped: the integration has not sent it again).
    mapping: SkuMapping | None = None


def case_view(case: ReturnCase, mappings: Mappings | None = None) -> CaseView:
    """The engine's own derivations (line pairing, which credit note counts), so the screen
    shows what the findings were computed from; no master data is needed for those."""
    ctx = Context(mappings=mappings or Mappings(), master=ErpMaster(), policy=Policy(),
                  now=_LATER)
    return CaseView(case, ctx)


def pair_lines(view: CaseView, *, mapped: bool) -> list[LineRow]:
    """Lines paired the way the engine pairs them (item groups, through the SKU mappings
    when known). Without mappings (`mapped` False), SKUs only match identical item numbers,
    so what is left over on both sides is paired by position and says so."""
    rows: list[LineRow] = []
    for group in view.groups.values():
        for pair, eline in zip_longest(group.pairs, group.erp_lines):
            pline = pair.line if pair else None
            rows.append(LineRow(pline, eline, _matched_by(pline, eline),
                                pair.mapping if pair else None))
    return rows if mapped else _pair_leftovers(rows)


def _mapped(mapping: SkuMapping) -> str:
    """`TEE-BLK-M`, or `SOCK-1 x 3 PCS` when one platform unit is several ERP units."""
    text = mapping.item_no
    if mapping.factor != 1 or mapping.erp_uom:
        text += f" x {qty(mapping.factor)}" + (f" {mapping.erp_uom}" if mapping.erp_uom else "")
    return text


def _matched_by(pline: PlatformLine | None, eline: ErpLine | None) -> str:
    if pline is None or eline is None:
        return ""
    return "same code" if pline.sku == eline.item_no else "mapping"


def _pair_leftovers(rows: list[LineRow]) -> list[LineRow]:
    """Unmatched platform lines take the unmatched ERP lines in order (a mapped SKU and its
    item, as the integration most likely posted them); surplus ERP lines stay last."""
    spare = [r.erp for r in rows if r.platform is None]
    out = []
    for row in rows:
        if row.platform is None:
            continue
        if row.erp is None and spare:
            row = LineRow(row.platform, spare.pop(0), "position", row.mapping)
        out.append(row)
    return out + [LineRow(None, erp, "") for erp in spare]


def qty(value: Decimal | None) -> str:
    """2.000000 reads as 2, 1.50 as 1.5."""
    return "" if value is None else f"{value.normalize():f}"


def _arrow(left: str | None, right: str | None) -> str:
    if not left and not right:
        return ""
    return f"{left or '—'} → {right or '—'}"


def line_refs(row: LineRow) -> set[str]:
    """Every identifier a finding's line_ref may use for this row (SKU, item, line ids)."""
    refs = set()
    if row.platform:
        refs |= {row.platform.sku, row.platform.line_ref}
    if row.erp:
        refs |= {row.erp.item_no, row.erp.line_ref}
    return refs


def actions_for(findings: Iterable[Finding]) -> dict[Action, list[str]]:
    """Each finding's action (what the pair can do: an action the ERP's API cannot do is
    none), with the codes each would fix (in order)."""
    out: dict[Action, list[str]] = {}
    for f in findings:
        codes = out.setdefault(f.action, [])
        if f.code.value not in codes:
            codes.append(f.code.value)
    return out


def raw_refs_platform(case: ReturnCase) -> list[str]:
    refs = [case.platform.raw_ref] + [p.raw_ref for p in case.problems if p.side is Side.PLATFORM]
    return _distinct(refs)


def raw_refs_erp(case: ReturnCase) -> list[str]:
    """Each ERP document behind the view once: stage records in lifecycle order, then the
    credit notes, then any record that did not validate."""
    refs = [case.erp.stage(stage).raw_ref for stage in Stage]
    refs += [note.raw_ref for note in case.erp.credit_notes]
    refs += [p.raw_ref for p in case.problems if p.side is Side.ERP]
    return _distinct(refs)


def _distinct(refs: Iterable[str | None]) -> list[str]:
    return list(dict.fromkeys(r for r in refs if r))


def fit(rows: Sequence[Sequence[Text]], labels: Sequence[str], available: int,
        tiers: Sequence[Iterable[int]]) -> None:
    """Truncate the flexible columns with the most room to spare, one cell at a time, until
    the table fits in `available` cells (each column also takes one cell of padding either
    side); a later tier of columns gives way only once the earlier ones cannot.

    A table wider than the screen would scroll sideways on its own and hide the ERP side."""
    widths = [max([len(label)] + [row[i].cell_len for row in rows])
              for i, label in enumerate(labels)]
    floor = [max(_NARROWEST, len(label)) for label in labels]
    budget = available - 2 * len(labels)
    for tier in map(list, tiers):
        while sum(widths) > budget:
            roomiest = max(tier, key=lambda i: widths[i] - floor[i])
            if widths[roomiest] <= floor[roomiest]:
                break
            widths[roomiest] -= 1
        for row in rows:
            for i in tier:
                row[i].truncate(widths[i], overflow="ellipsis")


def worst(findings: Iterable[Finding]) -> Finding | None:
    """The finding that sets a row's colour: errors before delays, then by severity."""
    return max(findings, key=lambda f: (not f.delay, f.severity.rank), default=None)


# ---------------------------------------------------------------- colours


@dataclass(frozen=True, slots=True)
class Palette:
    """Colours from the theme in use (each theme sets its own severity colours), so the
    highlights stay readable on dark, light and high-contrast themes alike."""

    severity: dict[str, str]
    error: str

    @classmethod
    def of(cls, variables: dict[str, str]) -> Palette:
        return cls(
            severity={s.value: variables.get(f"severity-{s.value}", SEVERITY_STYLE[s.value])
                      for s in Severity},
            error=variables.get("error", "red"),
        )

    def of_finding(self, finding: Finding | None) -> str:
        if finding is None:
            return ""
        colour = self.severity[finding.severity.value]
        return f"italic {colour}" if finding.delay else colour


# ---------------------------------------------------------------- the screen


#: The actions that write to the ERP (the others change local tables or only look).
ERP_WRITES = frozenset({Action.FIX_REFERENCE, Action.REQUEUE_POSTING})


class ReturnScreen(Presenting, Screen):
    """The stage board, the findings with why they matter, the money and the lines, the
    timeline, and the actions that apply; `p` / `e` open each side's raw source record."""

    #: Its keys are in the command palette as "return: …" (tui/commands.py).
    PALETTE_NAME = "return"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "app.pop_screen", "Back", id="return.back"),
        Binding("p", "raw_platform", "Platform record", id="return.raw_platform"),
        Binding("e", "raw_erp", "ERP record", id="return.raw_erp"),
        Binding("m", "act('remap_sku')", "Remap SKU", id="return.remap_sku"),
        Binding("c", "act('remap_code')", "Remap code", id="return.remap_code"),
        Binding("f", "act('fix_reference')", "Fix reference", id="return.fix_reference"),
        Binding("u", "act('requeue_posting')", "Re-queue", id="return.requeue"),
        Binding("a", "acknowledge", "Acknowledge", id="return.acknowledge", show=False),
        Binding("L", "act('audit')", "Audit log", id="return.audit"),
    ]

    def __init__(self, case: ReturnCase, findings: list[Finding], *, raw: RawLookup = _no_raw,
                 presenter: bool | None = None, mappings: Mappings | None = None,
                 master: ErpMaster | None = None,
                 triage: Mapping[str, str] | None = None,
                 erp_can: Callable[[str], bool] | None = None) -> None:
        super().__init__()
        self.case = case
        #: Whether the ERP can do an action that writes to it: the ones it cannot are not
        #: offered (their findings say what to do in the ERP).
        self.erp_can = erp_can or (lambda action: True)
        #: What operators said of each exception (by finding id): shown under it.
        self.triage = dict(triage or {})
        #: The ERP's accounting periods: each credit note's posting date and its period.
        self.periods = periods(master) if master is not None else []
        self.findings = findings
        self.raw = raw
        self.presenter = presenter
        self.mappings = mappings
        self.events: list[Event] = timeline(case)
        view = case_view(case, mappings)
        self.lines: list[LineRow] = pair_lines(view, mapped=mappings is not None)
        #: The credit note the money compares against: the engine's choice, not the first.
        self.credit_note: CreditNote | None = view.credit_note

    # -- layout ---------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        yield Header()
        yield EnvironmentBar(id="environment")
        with VerticalScroll(id="return-body"):
            yield Static(id="title")
            yield Static("Stages", classes="section")
            yield MeasuredTable(id="stages", cursor_type="none")
            yield Static("Findings", classes="section")
            yield Static(id="findings")
            yield Static(classes="section", id="money-heading")
            yield MeasuredTable(id="money", cursor_type="none")
            yield Static("Lines", classes="section")
            yield MeasuredTable(id="lines", cursor_type="none")
            yield Static(id="lines-note")
            yield Static("Timeline", classes="section")
            yield MeasuredTable(id="timeline", cursor_type="none")
            yield Static("Actions", classes="section")
            yield Static(id="actions")
        yield Footer()

    def on_mount(self) -> None:
        columns = {"stages": STAGE_COLUMNS, "money": MONEY_COLUMNS,
                   "lines": LINE_COLUMNS, "timeline": TIMELINE_COLUMNS}
        for name, labels in columns.items():
            table = self.query_one(f"#{name}", DataTable)
            table.add_columns(*labels)
            # The page scrolls as one: a table that took focus would swallow the arrow keys.
            table.can_focus = False
        self.query_one("#return-body", VerticalScroll).focus()
        self._paint()
        self.app.theme_changed_signal.subscribe(self, lambda _theme: self._paint())

    def on_resize(self) -> None:
        """Tables are fitted to the width, so a new width refits them."""
        if self.is_mounted:
            self._paint()

    def own_masker(self, base: Masker | None) -> Masker:
        """The session's values and this return's customer (name, email, ERP numbers)."""
        return (base or Masker()).extended(secrets=customers_of(self.case))

    def presenter_changed(self) -> None:
        """Presenter mode switched while the return is open: every section is masked (or
        unmasked) at once, not at the next visit."""
        self._paint()

    def _paint(self) -> None:
        """Fill every section with the current theme's colours and masking (again on a
        theme change, a resize, or presenter mode switched)."""
        palette = Palette.of(self.app.theme_variables)
        self.query_one("#title", Static).update(self._title())
        self.query_one("#money-heading", Static).update(self._money_heading())
        self._fill_stages(palette)
        self.query_one("#findings", Static).update(self._explained(palette))
        self._fill_money(palette)
        self._fill_lines(palette)
        note = self._mappings_note()
        self.query_one("#lines-note", Static).update(note)
        self.query_one("#lines-note", Static).display = bool(note)
        self._fill_timeline()
        self.query_one("#actions", Static).update(self._actions())

    def _put(self, name: str, labels: Sequence[str], rows: list[tuple[str, list[Text]]]) -> None:
        """Replace a table's rows, fitted to the screen's width."""
        table = self.query_one(f"#{name}", DataTable)
        table.clear()
        cells = [row for _, row in rows]
        fit(cells, labels, self.size.width - _CHROME, FLEXIBLE.get(name, ()))
        for key, row in rows:
            table.add_row(*row, key=key)

    def _safe(self, text: object) -> str:
        """API text as it may be shown: masked in presenter mode, literal either way."""
        return self.safe(text)

    # -- title ------------------------------------------------------------------------

    def _title(self) -> Text:
        p, e = self.case.platform, self.case.erp
        customer = " ".join(filter(None, (
            self._safe(p.customer_name),
            f"<{self._safe(p.customer_email)}>" if p.customer_email else "")))
        parts = [f"Return {self._safe(p.return_ref)}", f"order {self._safe(p.order_ref or '—')}",
                 customer or "no customer on the platform",
                 f"{display_name(p.system)} | {display_name(e.system)}"]
        return Text(" · ".join(parts))

    # -- stage board ------------------------------------------------------------------

    def _fill_stages(self, palette: Palette) -> None:
        p, e = self.case.platform, self.case.erp
        rows = []
        for stage in Stage:
            found = [f for f in self.findings if f.stage is stage]
            colour = palette.of_finding(worst(found))
            sides = {f.side for f in found}
            rows.append((stage.value, [
                Text(stage.value, style=colour),
                self._stage_cell(p.stage(stage), colour if _names(sides, Side.PLATFORM) else ""),
                self._stage_cell(e.stage(stage), colour if _names(sides, Side.ERP) else ""),
                Text(_codes(found), style=f"bold {colour}" if colour else "")]))
        self._put("stages", STAGE_COLUMNS, rows)

    def _stage_cell(self, view: StageView, highlight: str) -> Text:
        """Status, time, the system's word and record ids; a disagreeing cell is marked
        with ✗ as well as coloured, so it reads without colour too."""
        cell = Text()
        if highlight:
            cell.append("✗ ", style=f"bold {highlight}")
        cell.append_text(status(view.status.value))
        for part in (when(view.at), self._safe(view.detail),
                     self._safe(", ".join(view.record_ids))):
            if part:
                cell.append(" · " + part, style=highlight)
        return cell

    # -- findings ---------------------------------------------------------------------

    def _explained(self, palette: Palette) -> Text:
        if not self.findings:
            return Text("No mismatch: both systems agree on this return.")
        out = Text()
        for n, f in enumerate(self.findings):
            entry = CATALOGUE[f.code]
            if n:
                out.append("\n")
            out.append(f.code.value, style=f"bold {palette.of_finding(f)}")
            late = ", delay" if f.delay else ""
            out.append(f" ({f.severity.value}, {f.owner.value}{late}): ")
            out.append(self._safe(f.message))
            out.append(f"\n  why: {entry.why}\n  do:  ")
            out.append(self._safe(f.todo or entry.todo))
            said = self.triage.get(f.id)
            if said:
                out.append("\n  triage: ", style="bold")
                out.append(self._safe(said))
        return out

    # -- money ------------------------------------------------------------------------

    def _money_heading(self) -> Text:
        p, note = self.case.platform, self.credit_note
        currency = p.refund.currency if p.refund else None
        head = f"Money ({currency})" if currency else "Money"
        method = p.refund_method
        refund = f"refund via {self._safe(method)}" if method and method.casefold() not in (
            "refund", "refunds") else "refund"
        if note is None:
            return Text(f"{head}: {refund} against no credit note")
        label = self._safe(note.number or note.id)
        method = f" via {self._safe(note.payment_method)}" if note.payment_method else ""
        out = Text(f"{head}: {refund} against credit note {label} "
                   f"({self._posting(note)}){method}")
        for other in self.case.erp.credit_notes:
            if other is not note:
                out.append(f"\n  also credit note {self._safe(other.number or other.id)} "
                           f"({self._posting(other)})")
        return out

    def _posting(self, note: CreditNote) -> str:
        """What finance asks of a credit note: posted or not, on which date, into which
        accounting period, and is that period still open."""
        words = {"posted": "posted", "draft": "draft, not posted",
                 "cancelled": "cancelled"}.get(note.status, note.status)
        if note.posting_date is None:
            return words
        period = next((p for p in self.periods if p.holds(note.posting_date)), None)
        where = (f" in {period.name}, {'closed' if period.closed else 'open'}"
                 if period is not None else "")
        return f"{words} {note.posting_date}{where}"

    def _fill_money(self, palette: Palette) -> None:
        refund = self.case.platform.refund
        credit = self.credit_note.amounts if self.credit_note else None
        named = {f.component: f for f in self.findings if f.component}
        rows = []
        for component in Component:
            a = refund.component(component) if refund else None
            b = credit.component(component) if credit else None
            rows.append(_money_row(component.value, a, b, palette,
                                   palette.of_finding(named.get(component.value))))
        rows.append(_money_row("total", refund.total if refund else None,
                               credit.total if credit else None, palette, ""))
        if refund and credit and refund.currency != credit.currency:
            loud = f"bold {palette.error}"
            rows.append(("currency", [Text("currency", style=loud), Text(refund.currency),
                                      Text(credit.currency), Text("differs", style=loud)]))
        self._put("money", MONEY_COLUMNS, rows)

    # -- lines ------------------------------------------------------------------------

    def _fill_lines(self, palette: Palette) -> None:
        rows = []
        for n, row in enumerate(self.lines):
            refs = line_refs(row)
            found = [f for f in self.findings if f.line_ref in refs]
            colour = palette.of_finding(worst(found))
            cells = [*self._line_cells(row), _codes(found)]
            rows.append((str(n), [Text(c, style=colour) for c in cells]))
        if not rows:
            rows.append(("none", [Text("no lines" if i == 0 else "") for i in
                                  range(len(LINE_COLUMNS))]))
        self._put("lines", LINE_COLUMNS, rows)

    def _line_cells(self, row: LineRow) -> list[str]:
        """Quantities with their unit on each side (None on the platform is "each")."""
        pl, el, s = row.platform, row.erp, self._safe
        received = _arrow(qty(pl.received_quantity) if pl else None,
                          qty(el.received_quantity) if el else None)
        return [
            s(pl.sku) if pl else "—",
            f"{qty(pl.quantity)} {s(pl.uom or 'each')}" if pl else "",
            s(el.item_no) if el else "—",
            f"{qty(el.quantity)} {s(el.uom or '')}".strip() if el else "",
            received,
            s(_arrow(pl.reason if pl else None, el.reason if el else None)),
            s(_arrow(pl.condition if pl else None, el.disposition if el else None)),
            s(_arrow(pl.location if pl else None, el.location if el else None)),
            row.by,
        ]

    def _mappings_note(self) -> Text:
        """The SKU mappings in force for this return's lines, under the lines table: just
        after a remap the ERP has no line for the SKU yet, and this says which item it is
        now mapped to (and that the ERP line is still to come)."""
        text = Text()
        for row in self.lines:
            m = row.mapping
            if m is None or row.platform is None or (m.item_no == row.platform.sku
                                                    and m.factor == 1 and not m.erp_uom):
                continue
            text.append("\n" if text else "SKU mappings in force: ", style="dim")
            text.append(f"{self._safe(row.platform.sku)} → item {self._safe(_mapped(m))}")
            if row.erp is None:
                text.append(" (no ERP line for it yet)", style="dim")
        return text

    # -- timeline ---------------------------------------------------------------------

    def _fill_timeline(self) -> None:
        rows = [(str(n), [Text(when(event.at) or "no time"),
                          Text("platform" if event.side is Side.PLATFORM else "ERP"),
                          Text(event.stage.value), status(event.status.value),
                          Text(self._safe(event.what)),
                          Text(self._safe(", ".join(event.record_ids)))])
                for n, event in enumerate(self.events)]
        if not rows:
            rows.append(("none", [Text(""), Text(""), Text(""), Text(""),
                                  Text("nothing recorded on either side yet"), Text("")]))
        self._put("timeline", TIMELINE_COLUMNS, rows)

    # -- actions ----------------------------------------------------------------------

    def _actions(self) -> Text:
        """What the console can do for these findings, with the key for each."""
        planned = actions_for(self.findings)
        manual = planned.pop(Action.NONE, [])
        out = Text()
        for action, codes in planned.items():
            out.append(f"{ACTION_LABELS[action]}", style="bold")
            out.append(f" ({ACTION_KEYS.get(action, '')}): fixes {', '.join(codes)}\n")
        if manual:
            out.append("no console action", style="bold")
            out.append(f": {', '.join(manual)}; follow the steps under Findings\n")
        if not self.findings:
            out.append("Nothing to do: both systems agree.\n")
        out.rstrip()
        return out

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "act" and parameters and parameters[0] in ERP_WRITES:
            return self.erp_can(str(parameters[0]))
        return True

    def action_act(self, name: str) -> None:
        self.post_message(ActionRequested(name, self.case, self.findings))

    def action_acknowledge(self) -> None:
        self.post_message(TriageRequested(
            "acknowledge", [f for f in self.findings if not f.delay]))

    # -- raw records ------------------------------------------------------------------

    def action_raw_platform(self) -> None:
        name = display_name(self.case.platform.system)
        self._load_raw(f"{name} record of {self.case.return_ref}",
                       raw_refs_platform(self.case))

    def action_raw_erp(self) -> None:
        name = display_name(self.case.erp.system)
        self._load_raw(f"{name} records of {self.case.return_ref}", raw_refs_erp(self.case))

    def _load_raw(self, title: str, refs: list[str]) -> None:
        self.run_worker(lambda: (title, self._lookup(refs)), thread=True, group="raw",
                        exclusive=True, exit_on_error=False)

    def _lookup(self, refs: list[str]) -> list[tuple[str, Any]]:
        """Runs in a thread: the lookup may read the cache. No ref at all still answers."""
        return [(ref, self.raw(ref)) for ref in refs] or [(self.case.return_ref, None)]

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.worker.group != "raw":
            return
        if event.state == WorkerState.SUCCESS and event.worker.result is not None:
            title, records = event.worker.result
            self.app.push_screen(RawRecordScreen(title, records, self.presenter,
                                                 secrets=customers_of(self.case)))
        elif event.state == WorkerState.ERROR:
            self.notify(str(event.worker.error), title="Could not read the raw record",
                        severity="error")


def _money_row(label: str, a: Decimal | None, b: Decimal | None, palette: Palette,
               colour: str) -> tuple[str, list[Text]]:
    """A component's two amounts and their difference; a non-zero difference is loud."""
    diff = (a - b) if a is not None and b is not None else None
    loud = f"bold {palette.error}" if diff else ""
    return label, [Text(label, style=colour or loud), Text(money(a), justify="right"),
                   Text(money(b), justify="right"),
                   Text(money(diff), style=loud, justify="right")]


def _codes(found: Iterable[Finding]) -> str:
    return ", ".join(dict.fromkeys(f.code.value for f in found))


def _names(sides: set[Side | None], side: Side) -> bool:
    """A finding with no side is about both cells of its row."""
    return side in sides or None in sides
