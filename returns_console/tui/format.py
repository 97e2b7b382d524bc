"""Text for cells: money, times, ages, severities. Everything from an API is escaped."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from rich.markup import escape
from rich.text import Text

SEVERITY_STYLE = {"critical": "bold red", "high": "red", "medium": "yellow", "low": "cyan"}
STATUS_STYLE = {"done": "green", "pending": "yellow", "failed": "bold red",
                "not_started": "dim", "not_applicable": "dim italic"}


def money(amount: Decimal | None, currency: str | None = None) -> str:
    if amount is None:
        return ""
    return f"{amount:,.2f} {currency or ''}".strip()


def when(moment: datetime | None) -> str:
    return moment.strftime("%Y-%m-%d %H:%M") if moment else ""


def severity(value: str) -> Text:
    return Text(value, style=SEVERITY_STYLE.get(value, ""))


def status(value: str) -> Text:
    return Text(value.replace("_", " "), style=STATUS_STYLE.get(value, ""))


def plain(value: object) -> str:
    """API text as literal text: brackets in SKUs and error messages stay brackets."""
    return escape("" if value is None else str(value))
