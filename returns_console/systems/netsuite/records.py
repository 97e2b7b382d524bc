"""NetSuite documents as the connector keeps them: one transaction with its lines, laid
together from SuiteQL rows (one row per transaction line, the header's columns repeated).

SuiteQL sends every value as text, booleans as 'T'/'F', and may leave a NULL column out of
the row altogether (docs/vendors/netsuite.md §3.3): every field here is text, optional
where NetSuite may leave it empty, and read through the helpers below; a row that does not
fit is a payload problem, never an exception.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation

from pydantic import BaseModel, ConfigDict, field_validator


class _Text(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True, defer_build=True)

    @field_validator("*", mode="before")
    @classmethod
    def _as_text(cls, value: object) -> object:
        # SuiteQL sends text; a number from a JSON number (a proxy, a test) reads the same.
        if isinstance(value, int | Decimal) and not isinstance(value, bool):
            return str(value)
        return value


class NsLine(_Text):
    """A transactionline row (§4.8)."""

    line: str
    mainline: str = "F"
    taxline: str = "F"
    item: str | None = None
    itemtype: str | None = None
    quantity: str | None = None
    quantityshiprecv: str | None = None
    foreignamount: str | None = None
    location: str | None = None
    units: str | None = None
    isclosed: str = "F"
    iscogs: str = "F"
    createdfrom: str | None = None
    sourcetype: str | None = None
    sourceref: str | None = None

    @property
    def is_header(self) -> bool:
        return self.mainline == "T"

    @property
    def is_tax(self) -> bool:
        return self.taxline == "T"


class NsDocument(_Text):
    """A transaction (§4.8) with its lines."""

    id: str
    type: str
    tranid: str | None = None
    status: str | None = None
    statustext: str | None = None
    createddate: str | None = None
    lastmodifieddate: str | None = None
    trandate: str | None = None
    link: str | None = None
    otherrefnum: str | None = None
    postingperiod: str | None = None
    periodstart: str | None = None
    currency: str | None = None
    customer: str | None = None
    lines: tuple[NsLine, ...] = ()

    @field_validator("createddate", "lastmodifieddate")
    @classmethod
    def _a_moment(cls, value: str | None) -> str | None:
        if value is not None:
            moment(value)  # raises ValueError: a payload problem naming the field
        return value

    @field_validator("trandate", "periodstart")
    @classmethod
    def _a_day(cls, value: str | None) -> str | None:
        if value is not None:
            date.fromisoformat(value)
        return value

    @field_validator("currency")
    @classmethod
    def _a_code(cls, value: str | None) -> str | None:
        if value is not None and not (len(value) == 3 and value.isascii() and value.isalpha()):
            raise ValueError(f"currency {value!r} is not an ISO 4217 code")
        return value

    @field_validator("lines")
    @classmethod
    def _numbers(cls, lines: tuple[NsLine, ...]) -> tuple[NsLine, ...]:
        for line in lines:
            for name in ("quantity", "quantityshiprecv", "foreignamount"):
                number(getattr(line, name), name)
        return lines

    @property
    def number(self) -> str:
        return self.tranid or self.id

    @property
    def created(self) -> datetime | None:
        return moment(self.createddate) if self.createddate else None

    @property
    def modified(self) -> datetime | None:
        return moment(self.lastmodifieddate) if self.lastmodifieddate else None

    @property
    def day(self) -> date | None:
        return date.fromisoformat(self.trandate) if self.trandate else None

    @property
    def posting_day(self) -> date | None:
        """The day the document is booked on: its date, unless NetSuite booked it in
        another period (the date's own closed, §4.6): then that period's first day."""
        day = self.day
        start = date.fromisoformat(self.periodstart) if self.periodstart else None
        if day is None or start is None or (day.year, day.month) == (start.year, start.month):
            return day
        return start

    @property
    def sources(self) -> set[str]:
        """The transactions this one was created from (`createdfrom` is a line column)."""
        return {ln.createdfrom for ln in self.lines if ln.createdfrom}


def moment(text: str) -> datetime:
    """A datetime as the connector asks SuiteQL to write it (TO_CHAR 'YYYY-MM-DD
    HH24:MI:SS'), in UTC (the account's time zone is an open question, §10 U5)."""
    return datetime.strptime(text, "%Y-%m-%d %H:%M:%S").replace(tzinfo=UTC)


def number(text: str | None, name: str = "value") -> Decimal | None:
    if text is None or text == "":
        return None
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise ValueError(f"{name} {text!r} is not a number") from None
    if not value.is_finite():
        raise ValueError(f"{name} {text!r} is not a number")
    exponent = value.as_tuple().exponent
    if abs(value) >= 10 ** 15 or (isinstance(exponent, int) and exponent < -6):
        raise ValueError(f"{name} {text!r} is out of range (15 digits, 6 decimals)")
    return value
