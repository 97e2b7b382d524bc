"""`--format table`: the check report for people, in a terminal or a pipe."""

from __future__ import annotations

import sys
from typing import TextIO

from rich.console import Console
from rich.markup import escape
from rich.padding import Padding
from rich.table import Table
from rich.text import Text

from .services.check import CheckReport
from .systems import display_name

SEVERITY_STYLE = {"critical": "bold red", "high": "red", "medium": "yellow", "low": "cyan"}


#: Below this width the table becomes a list (two lines a finding): every column still
#: there, the message wrapped, a return reference never cut.
NARROW = 110


def render_table(report: CheckReport, out: TextIO | None = None) -> None:
    out = out or sys.stdout
    console = Console(file=out, width=None if out.isatty() else 200, highlight=False,
                      soft_wrap=False)
    table = Table(title=f"Returns Console check: {escape(report.profile)}", title_justify="left",
                  show_lines=False, expand=False)
    rows = sorted(report.findings, key=lambda f: (-f.severity.rank, f.code, f.return_ref))
    if console.width < NARROW:
        _render_list(console, report, rows)
        return
    for name in ("severity", "code", "return", "order", "line", "stage", "owner", "age h",
                 "at risk", "message"):
        table.add_column(name, no_wrap=name != "message", overflow="fold")
    for f in rows:
        table.add_row(
            f"[{SEVERITY_STYLE[f.severity.value]}]{f.severity.value}[/]",
            f.code.value,
            escape(f.return_ref),
            escape(f.order_ref or "—"),
            escape(f.line_ref or ""),
            f.stage.value,
            f.owner.value,
            f"{f.age_hours:.0f}",
            _at_risk(f),
            escape(f.message),
        )
    console.print(table)
    _footer(console, report)


def _at_risk(f) -> str:
    return "" if f.amount_at_risk is None else f"{f.amount_at_risk:,.2f} {f.currency or ''}"


def _render_list(console: Console, report: CheckReport, rows) -> None:
    """The narrow form: a heading line per finding, its message wrapped beneath."""
    console.print(f"[italic]Returns Console check: {escape(report.profile)}[/]")
    for f in rows:
        head = (f"[{SEVERITY_STYLE[f.severity.value]}]{f.severity.value:<8}[/] "
                f"[bold]{f.code.value}[/]  {escape(f.return_ref)}  "
                f"{escape(f.order_ref or '—')}  {_at_risk(f)}  "
                f"{f.stage.value}/{f.owner.value}  {f.age_hours:.0f} h")
        console.print(head, overflow="fold")
        line = f" · {f.line_ref}" if f.line_ref else ""
        console.print(Padding(Text(f"{f.message}{line}"), (0, 0, 0, 4)), overflow="fold")
    _footer(console, report)


def _footer(console: Console, report: CheckReport) -> None:
    for f in report.result.delays:
        console.print(f"[dim]delay  {f.code.value}  {escape(f.return_ref)}  "
                      f"{escape(f.message)}[/]")
    summary = ", ".join(f"{n} {sev}" for sev, n in
                        sorted(_by_severity(report).items(), key=lambda kv: -_rank(kv[0])))
    console.print(
        f"{len(report.findings)} finding(s) [{summary or 'none'}], "
        f"{len(report.result.delays)} delay(s), {report.result.returns_checked} returns checked; "
        f"{_source(report.platform)}; {_source(report.erp)}"
    )
    for source in (report.platform, report.erp):
        for note in source.notes:
            console.print(f"[dim]note  {escape(display_name(source.system))}: "
                          f"{escape(note)}[/]")


def _by_severity(report: CheckReport) -> dict[str, int]:
    out: dict[str, int] = {}
    for f in report.findings:
        out[f.severity.value] = out.get(f.severity.value, 0) + 1
    return out


def _rank(severity: str) -> int:
    return ("low", "medium", "high", "critical").index(severity)


def _source(status) -> str:
    name = display_name(status.system)
    if status.status == "ok":
        return f"{escape(name)} ok"
    if status.status == "degraded":
        return (f"[bold yellow]{escape(name)} degraded: {status.unreadable} of "
                f"{status.records} records unreadable[/]")
    when = status.fetched_at.strftime("%Y-%m-%d %H:%M UTC") if status.fetched_at else "?"
    why = f": {escape(status.error)}" if status.error else ""
    return f"[bold yellow]{escape(name)} {status.status}, data from {when}[/]{why}"


def print_close(view, report: CheckReport, out: TextIO | None = None) -> None:
    """The month-end close view for people: the period, the money, who owns it, and each
    return that blocks it."""
    out = out or sys.stdout
    console = Console(file=out, width=None if out.isatty() else 200, highlight=False,
                      soft_wrap=False)
    p = view.period
    state = "closed" if p.closed else "open"
    source = "" if p.from_erp else " (calendar month: the ERP publishes no periods)"
    console.print(f"[bold]Close {escape(p.name)}[/] {p.start} to {p.end}, {state}{source}")
    blocking = len({b.return_ref for b in view.blockers})
    console.print(f"{view.refunded} returns refunded in the period; {blocking} block the "
                  "close")
    for currency, sums in view.totals().items():
        parts = ", ".join(f"{k} {v:,.2f}" for k, v in sums.items() if k != "total" and v)
        console.print(f"at risk: {sums['total']:,.2f} {currency} ({parts or 'nothing'})")
    owners = "; ".join(f"{owner} " + ", ".join(f"{v:,.2f} {cur}" for cur, v in sums.items())
                       for owner, sums in view.by_owner().items())
    if owners:
        console.print(f"by owner: {owners}")
    if not view.blockers:
        console.print("[green]Nothing blocks this period.[/]")
    else:
        table = Table(show_lines=False, expand=False)
        for name in ("return", "order", "why", "owner", "refunded", "document", "posted",
                     "at risk"):
            table.add_column(name, no_wrap=name != "why", overflow="fold")
        for b in view.blockers:
            reason = b.reason.replace("_", " ") + (f" ({b.code.value})" if b.code else "")
            table.add_row(
                escape(b.return_ref), escape(b.order_ref or "—"), reason, b.owner.value,
                str(b.refunded_on or "—"), escape(b.document or "—"),
                escape(f"{b.posting_date} {b.posting_period or ''}".strip())
                if b.posting_date else "—",
                f"{b.money.total:,.2f} {b.money.currency}" if b.money else "—")
        console.print(table)
    if report.platform.degraded or report.erp.degraded:
        console.print(f"[bold yellow]{_source(report.platform)}; {_source(report.erp)}[/]")
