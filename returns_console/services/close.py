"""The month-end close view for one accounting period, from a check's report."""

from __future__ import annotations

import csv
import io
from datetime import date

from ..domain.close import COMPONENTS, CloseReport, close_period, find_period
from ..domain.reference import ErpMaster
from ..errors import UserError
from .check import CheckReport

CSV_FIELDS = ("return_ref", "order_ref", "reason", "code", "owner", "refunded_on",
              "document", "posting_date", "posting_period", "currency", "amount",
              *COMPONENTS, "detail")


def close_view(report: CheckReport, period: str | None, today: date | None = None
               ) -> CloseReport:
    """What blocks `period` (YYYY-MM, a period's name, or the current one) from closing."""
    master = report.master or ErpMaster()
    try:
        chosen = find_period(master, period, today or report.generated_at.date())
    except ValueError as exc:
        raise UserError(str(exc)) from None
    return close_period(report.cases, [*report.findings, *report.result.delays], master,
                        chosen)


def close_csv(view: CloseReport) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=CSV_FIELDS, extrasaction="ignore",
                            lineterminator="\n")
    writer.writeheader()
    for blocker in view.blockers:
        writer.writerow(blocker.to_json())
    return out.getvalue()
