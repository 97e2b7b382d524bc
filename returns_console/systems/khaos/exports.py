"""Khaos's own credit note exports: the second source for what the channel cannot tell
(docs/vendors/khaos-control.md §4: no object carries a credit note; §5.3). A person (or a
scheduled report in Khaos) drops CSV files into the profile's `exports_dir`; each row is a
credit note, read with the profile's column map (the report's columns are per installation:
each option a list of candidate headers, the first present wins). The newest file's time is
the source's freshness: an export older than `exports_max_age_hours` is said, never taken
for all clear.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path

from ...domain.money import MoneyBreakdown
from ...visible import visible
from .options import KhaosOptions

#: Date spellings the exports are read in (U8: DD/MM/YYYY in Khaos's own documents).
DATE_FORMATS = ("%d/%m/%Y", "%Y-%m-%d", "%d/%m/%Y %H:%M", "%d/%m/%Y %H:%M:%S",
                "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M:%S")
#: A file bigger than this is refused whole (an export of credit notes is small).
MAX_FILE = 20 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class ExportedCredit:
    number: str
    link: str
    issued: date | None
    amounts: MoneyBreakdown | None
    file: str


@dataclass(slots=True)
class Exports:
    credits: list[ExportedCredit] = field(default_factory=list)
    #: When the newest file was written (None: no file).
    fresh_at: datetime | None = None
    problems: list[str] = field(default_factory=list)
    files: int = 0


def read_exports(options: KhaosOptions) -> Exports | None:
    """Every credit note of every CSV in `exports_dir` (a credit number seen in two files:
    the newer file's row); None when the profile names no folder."""
    if not options.exports_dir:
        return None
    folder = Path(options.exports_dir).expanduser()
    out = Exports()
    try:
        files = sorted((p for p in folder.iterdir() if p.suffix.lower() == ".csv"),
                       key=lambda p: p.stat().st_mtime)
    except OSError as exc:
        out.problems.append(f"the exports folder cannot be read ({exc.strerror or exc})")
        return out
    by_number: dict[str, ExportedCredit] = {}
    for path in files:
        try:
            stat = path.stat()
            if stat.st_size > MAX_FILE:
                out.problems.append(f"{visible(path.name)} is over {MAX_FILE // 1_000_000} MB: "
                                    "not read")
                continue
            text = path.read_bytes().decode("utf-8-sig", errors="replace")
        except OSError as exc:
            out.problems.append(f"{visible(path.name)} cannot be read "
                                f"({exc.strerror or exc})")
            continue
        out.files += 1
        moment = datetime.fromtimestamp(stat.st_mtime, UTC)
        out.fresh_at = moment if out.fresh_at is None or moment > out.fresh_at else out.fresh_at
        try:
            rows = _rows(text, visible(path.name), options, out.problems)
        except csv.Error as exc:
            out.problems.append(f"{visible(path.name)} does not read as CSV ({exc})")
            continue
        for credit in rows:
            by_number[credit.number] = credit
    out.credits = list(by_number.values())
    return out


def _column(header: list[str], candidates: tuple[str, ...]) -> str | None:
    folded = {h.strip().casefold(): h for h in header}
    return next((folded[c.casefold()] for c in candidates if c.casefold() in folded), None)


def _rows(text: str, name: str, options: KhaosOptions,
          problems: list[str]) -> list[ExportedCredit]:
    reader = csv.DictReader(io.StringIO(text))
    header = list(reader.fieldnames or [])
    number = _column(header, options.credit_number_columns)
    link = _column(header, options.credit_link_columns)
    if number is None or link is None:
        problems.append(f"{name}: no credit number or reference column (looked for "
                        f"{', '.join(options.credit_number_columns)} and "
                        f"{', '.join(options.credit_link_columns)})")
        return []
    when = _column(header, options.credit_date_columns)
    gross = _column(header, options.credit_gross_columns)
    tax = _column(header, options.credit_tax_columns)
    currency = _column(header, ("Currency", "Currency Code", "CURRENCY_CODE"))
    out = []
    for n, row in enumerate(reader, start=2):
        ref, said = (row.get(link) or "").strip(), (row.get(number) or "").strip()
        if not said:
            continue
        if not ref:
            problems.append(f"{name} line {n}: credit {visible(said)} names no return")
            continue
        try:
            amounts = _amounts(row.get(gross) if gross else None,
                               row.get(tax) if tax else None,
                               (row.get(currency) or "").strip() if currency else "",
                               options.currency)
            issued = _date(row.get(when)) if when else None
        except ValueError as exc:
            problems.append(f"{name} line {n}: {visible(str(exc))}")
            continue
        out.append(ExportedCredit(visible(said), visible(ref), issued, amounts, name))
    return out


def _money(text: str | None) -> Decimal | None:
    cleaned = (text or "").strip().replace(",", "").lstrip("£$€")
    if not cleaned:
        return None
    try:
        value = Decimal(cleaned)
    except InvalidOperation:
        raise ValueError(f"{text!r} is not an amount") from None
    if not value.is_finite():
        raise ValueError(f"{text!r} is not an amount")
    return abs(value)  # U11: a credit's sign is not documented; its size is what counts


def _amounts(gross: str | None, tax: str | None, currency: str,
             default: str) -> MoneyBreakdown | None:
    total, vat = _money(gross), _money(tax)
    if total is None:
        return None
    vat = vat or Decimal(0)
    return MoneyBreakdown(currency=(currency or default).upper(), items=total - vat, tax=vat)


def _date(text: str | None) -> date | None:
    value = (text or "").strip()
    if not value or value.startswith("1900-01-01") or value.startswith("01/01/1900"):
        return None  # U8: Khaos's blank date
    for form in DATE_FORMATS:
        try:
            return datetime.strptime(value, form).date()
        except ValueError:
            continue
    raise ValueError(f"{value!r} is not a date")


__all__ = ["ExportedCredit", "Exports", "read_exports"]
