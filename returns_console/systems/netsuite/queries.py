"""The SuiteQL the connector sends (docs/shopify-netsuite-mapping.md, "NetSuite: read
plan"): one query for every return document with its lines, a few for master data.

Every query orders by a unique key and takes a keyset predicate, so a read can go on past
SuiteQL's 100,000-result ceiling by starting a new query after the last row (§3.2). Dates
are written through TO_CHAR: SuiteQL otherwise formats them per the user's preference
(§3.3). User values go in bound parameters (§3.1), as text; for an account before 2026.2,
into the query text as quoted literals (`written_in`, option `bound_parameters`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

#: A datetime as text the connector parses (records.moment).
DATETIME = "'YYYY-MM-DD HH24:MI:SS'"
DAY = "'YYYY-MM-DD'"


def written_in(text: str, params: Sequence[str]) -> str:
    """The query with each `?` outside a quoted literal replaced by its parameter as a
    string literal (a quote doubled, as SQL escapes it): for an account before 2026.2,
    whose REST SuiteQL takes no bound parameters (§3.1). The values are text either way,
    as bound parameters are. A control character is refused, never written into SQL."""
    out: list[str] = []
    values = iter(params)
    quoted = False
    for char in text:
        if char == "'":
            quoted = not quoted  # a doubled quote inside a literal toggles twice
        if char != "?" or quoted:
            out.append(char)
            continue
        value = next(values, None)
        if value is None:
            raise ValueError("the query has more parameters than values")
        if any(ord(c) < 32 or ord(c) == 127 for c in value):
            raise ValueError("a SuiteQL value holds a control character")
        out.append("'" + value.replace("'", "''") + "'")
    if next(values, None) is not None:
        raise ValueError("the query has fewer parameters than values")
    return "".join(out)


@dataclass(frozen=True, slots=True)
class Query:
    """A SELECT and how to go on after a row: `build(after)` is the text and parameters
    (after None: from the start); `key(row)` the values of the ordering key."""

    name: str
    build: Callable[[tuple[str, ...] | None], tuple[str, list[str]]]
    key: Callable[[Mapping[str, Any]], tuple[str, ...]]


def _window(link_column: str) -> str:
    """Which transactions are a return's documents (alias `t`; two `since_day` parameters):
    dated within the window, or (an RA) older but with a receipt or refund made from it
    within the window, so a chain is never read without its RA."""
    return f"""(t.trandate >= TO_DATE(?, {DAY}) OR (t.type = 'RtnAuth' AND t.id IN (
      SELECT nl.createdfrom FROM transactionline nl
      JOIN transaction nt ON nt.id = nl.transaction
      WHERE nt.trandate >= TO_DATE(?, {DAY})
        AND nt.type IN ('ItemRcpt', 'CustCred', 'CashRfnd'))))
  AND (t.type IN ('RtnAuth', 'CustCred', 'CashRfnd')
    OR (t.type = 'ItemRcpt' AND t.id IN (
      SELECT rl.transaction FROM transactionline rl
      JOIN transaction ra ON ra.id = rl.createdfrom WHERE ra.type = 'RtnAuth'))
    OR (t.type = 'SalesOrd' AND t.{link_column} IN (
      SELECT r.{link_column} FROM transaction r WHERE r.type = 'RtnAuth')))"""


def documents(link_column: str, since_day: str, location: str = "name",
              changed_since: str | None = None) -> Query:
    """Return authorizations, their item receipts, credit memos and cash refunds, and
    replacement sales orders, one row per line, with what each line was created from, in
    the window (`_window`); with `changed_since` (YYYY-MM-DD HH24:MI:SS), only those whose
    `lastmodifieddate`, or a line's `linelastmodifieddate`, is later (read whole)."""
    select = f"""
SELECT t.id, t.type, t.tranid, t.status, BUILTIN.DF(t.status) AS statustext,
  TO_CHAR(t.createddate, {DATETIME}) AS createddate,
  TO_CHAR(t.lastmodifieddate, {DATETIME}) AS lastmodifieddate,
  TO_CHAR(t.trandate, {DAY}) AS trandate,
  t.{link_column} AS link, t.otherrefnum, t.postingperiod,
  TO_CHAR(ap.startdate, {DAY}) AS periodstart,
  cur.symbol AS currency, c.entityid AS customer,
  tl.id AS line, tl.mainline, tl.taxline, it.itemid AS item, it.itemtype AS itemtype,
  tl.quantity, tl.quantityshiprecv, tl.foreignamount, loc.{location} AS location,
  BUILTIN.DF(tl.units) AS units, tl.isclosed, tl.iscogs, tl.createdfrom,
  src.type AS sourcetype, src.otherrefnum AS sourceref
FROM transaction t
JOIN transactionline tl ON tl.transaction = t.id
LEFT JOIN transaction src ON src.id = tl.createdfrom
LEFT JOIN item it ON it.id = tl.item
LEFT JOIN customer c ON c.id = t.entity
LEFT JOIN currency cur ON cur.id = t.currency
LEFT JOIN location loc ON loc.id = tl.location
LEFT JOIN accountingperiod ap ON ap.id = t.postingperiod
WHERE {_window(link_column)}"""
    params = [since_day, since_day]
    if changed_since is not None:  # the document's stamp, or a line's (§3.4)
        select += (f"\n  AND (t.lastmodifieddate > TO_TIMESTAMP(?, {DATETIME}) OR t.id IN ("
                   "SELECT ml.transaction FROM transactionline ml WHERE "
                   f"ml.linelastmodifieddate > TO_TIMESTAMP(?, {DATETIME})))")
        params += [changed_since, changed_since]

    def build(after: tuple[str, ...] | None) -> tuple[str, list[str]]:
        if after is None:
            return f"{select}\nORDER BY t.id, tl.id", list(params)
        return (f"{select}\n  AND (t.id > ? OR (t.id = ? AND tl.id > ?))\n"
                "ORDER BY t.id, tl.id", [*params, after[0], after[0], after[1]])

    return Query("documents", build,
                 lambda row: (str(row.get("id", "")), str(row.get("line", ""))))


def tally(link_column: str, since_day: str) -> Query:
    """How many documents the window holds and the sum of their ids (one row): what a
    refresh's merge checks the documents it holds against, since a deleted document leaves
    no row to read (COUNT and SUM are SuiteQL's, §3.3 S1)."""
    select = (f"SELECT COUNT(*) AS documents, SUM(t.id) AS idsum FROM transaction t "
              f"WHERE {_window(link_column)}")
    return Query("tally", lambda _after: (select, [since_day, since_day]),
                 lambda row: ("",))


def _by_id(name: str, select: str, params: list[str] | None = None) -> Query:
    """A master-data query ordered by `id` (its FROM's alias is `x`)."""
    where = " WHERE " if " WHERE " not in select else " AND "

    def build(after: tuple[str, ...] | None) -> tuple[str, list[str]]:
        if after is None:
            return f"{select} ORDER BY x.id", list(params or [])
        return f"{select}{where}x.id > ? ORDER BY x.id", [*(params or []), after[0]]

    return Query(name, build, lambda row: (str(row.get("id", "")),))


def items() -> Query:
    return _by_id("items", "SELECT x.id, x.itemid, x.itemtype, x.isinactive, "
                           "BUILTIN.DF(x.stockunit) AS stockunit FROM item x")


def customers(changed_since: str | None = None) -> Query:
    """Every customer (or those changed after `changed_since`): a return's customer is
    found by its email when no document names it yet (a return NetSuite has no RA for)."""
    select = (f"SELECT x.id, x.entityid, x.email, x.isinactive, TO_CHAR(x.lastmodifieddate, "
              f"{DATETIME}) AS lastmodifieddate FROM customer x")
    if changed_since is None:
        return _by_id("customers", select)
    return _by_id("customers", f"{select} WHERE x.lastmodifieddate > TO_TIMESTAMP(?, "
                  f"{DATETIME})", [changed_since])


def periods() -> Query:
    """Base accounting periods (neither a year nor a quarter, §4.6)."""
    return _by_id("periods",
                  "SELECT x.id, x.periodname, TO_CHAR(x.startdate, "
                  f"{DAY}) AS startdate, x.closed, x.arlocked, x.alllocked, x.isadjust "
                  "FROM accountingperiod x WHERE x.isyear = 'F' AND x.isquarter = 'F'")


def locations() -> Query:
    return _by_id("locations", "SELECT x.id, x.name, x.isinactive FROM location x")


def payment_methods() -> Query:
    return _by_id("payment_methods", "SELECT x.id, x.name, x.isinactive FROM paymentmethod x")


def reasons(table: str) -> Query:
    """The custom list the account keeps return reasons in (a custom list is a table named
    by its script id with `name` and `isinactive`)."""
    return _by_id("reasons", f"SELECT x.id, x.name, x.isinactive FROM {table} x")


def ra_lines(ra_id: str, location: str = "name") -> Query:
    """A return authorization's lines as a credit or a receipt made from it would take
    them: the item, its rate, the quantity authorised and received, where it is received,
    its place on the form (§4.8)."""
    select = ("SELECT tl.id, tl.linesequencenumber, tl.mainline, tl.taxline, tl.iscogs, "
              "it.itemid AS item, it.itemtype AS itemtype, tl.rate, tl.quantity, "
              "tl.quantityshiprecv, tl.foreignamount, BUILTIN.DF(tl.units) AS units, "
              f"tl.isclosed, loc.{location} AS location, cur.symbol AS currency "
              "FROM transactionline tl JOIN transaction t ON t.id = tl.transaction "
              "LEFT JOIN item it ON it.id = tl.item LEFT JOIN currency cur ON cur.id = t.currency "
              "LEFT JOIN location loc ON loc.id = tl.location "
              "WHERE tl.transaction = ?")

    def build(after: tuple[str, ...] | None) -> tuple[str, list[str]]:
        if after is None:
            return f"{select} ORDER BY tl.id", [ra_id]
        return f"{select} AND tl.id > ? ORDER BY tl.id", [ra_id, after[0]]

    return Query("ra_lines", build, lambda row: (str(row.get("id", "")),))


def credits_for(link_column: str, link: str, external_id: str) -> Query:
    """The credit memos and cash refunds that carry `link`, or the external id a re-queue
    gives the credit it makes (what a re-queue looks for first, never making one twice);
    voided ones too (the caller tells them apart by status)."""
    return _by_id("credits", "SELECT x.id, x.type, x.tranid, x.status, "
                  "BUILTIN.DF(x.status) AS statustext, x.externalid FROM transaction x "
                  f"WHERE x.type IN ('CustCred', 'CashRfnd') AND (x.{link_column} = ? "
                  "OR x.externalid = ?)", [link, external_id])


def receipts_for(link_column: str, link: str, external_id: str,
                 ra_id: str | None = None) -> Query:
    """The item receipts made from a return authorization that carries `link` (or is
    `ra_id`, whatever its link reads like now), or carrying the external id a re-queue
    gives the receipt it makes: what a re-queue looks for first (never receiving twice);
    voided ones too (the caller tells them apart by status)."""
    made_from = f"ra.{link_column} = ?" + (" OR ra.id = ?" if ra_id else "")
    return _by_id("receipts", "SELECT x.id, x.type, x.tranid, x.status, "
                  "BUILTIN.DF(x.status) AS statustext, x.externalid FROM transaction x "
                  "WHERE x.type = 'ItemRcpt' AND (x.externalid = ? OR x.id IN ("
                  "SELECT rl.transaction FROM transactionline rl JOIN transaction ra "
                  f"ON ra.id = rl.createdfrom WHERE ra.type = 'RtnAuth' AND ({made_from})))",
                  [external_id, link, *([ra_id] if ra_id else [])])


def receipt_lines(receipt_id: str) -> Query:
    """An item receipt's lines: the item and the quantity it received (§4.8), and whether
    a row is a cost-of-goods one (not a line of goods, as the read leaves it out)."""
    return _by_id("receipt_lines", "SELECT x.id, x.mainline, x.taxline, x.iscogs, "
                  "it.itemid AS item, x.quantity FROM transactionline x "
                  "LEFT JOIN item it ON it.id = x.item WHERE x.transaction = ?", [receipt_id])
