"""Everything the rules need to know about one return, worked out once.

The rules are small pure functions; the shared derivations they would otherwise repeat
(SKU resolution, pairing platform lines with ERP lines, which credit note counts, the
customer) live here so each rule stays a few lines long and the engine stays fast.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

from .catalogue import CATALOGUE, REQUEUE_CREATES, STAGE_OWNERS
from .codes import (
    AUTHORISED,
    DONE,
    FAILED,
    Action,
    Code,
    Owner,
    Severity,
    Side,
    Stage,
)
from .findings import Finding
from .model import CreditNote, ErpLine, PlatformLine, ReturnCase, StageView
from .reference import Customer, ErpMaster, Item, Mappings, Policy, SkuMapping

DONE = DONE
_HOUR = 3600.0
#: Half a unit of the last shown decimal: a figure rounds differently only across these.
_ROUNDING_STEP = {places: timedelta(hours=0.5 / 10 ** places) for places in range(3)}


@dataclass(frozen=True, slots=True)
class Context:
    """What a return is checked against, shared by every return of one run."""

    mappings: Mappings
    master: ErpMaster
    policy: Policy
    now: datetime
    #: Display names of the systems by id (the registry's), for the findings' sentences.
    names: Mapping[str, str] = field(default_factory=dict)
    #: SKU → (its mapping, its item number, that number as the ERP tells it apart, the
    #: item), worked out once a run: the same SKUs come back in return after return. Not
    #: an argument, so `dataclasses.replace` with other mappings starts it afresh.
    resolved: dict[str, tuple[SkuMapping | None, str, str, Item | None]] = field(
        default_factory=dict, init=False, compare=False, repr=False)

    def resolve(self, sku: str) -> tuple[SkuMapping | None, str, str, Item | None]:
        found = self.resolved.get(sku)
        if found is None:
            mapping = self.mappings.sku(sku)
            item_no = mapping.item_no if mapping else sku
            key = self.master.item_key(item_no)
            item = self.master.item(item_no)
            if item is None and not self.master.checks_item(mapping):
                # found by the ERP another way (a barcode) than its item list names items:
                # taken as it is mapped, not checked (no SKU finding can be made of it)
                item = Item(number=item_no)
            found = self.resolved[sku] = (mapping, item_no, key, item)
        return found


@dataclass(slots=True)
class LinePair:
    """A platform line and the ERP item its SKU resolves to (None: unknown)."""

    line: PlatformLine
    mapping: SkuMapping | None
    item: Item | None

    @property
    def factor(self) -> Decimal:
        return self.mapping.factor if self.mapping else Decimal(1)

    @property
    def amount(self) -> Decimal | None:
        price = self.line.unit_price
        return None if price is None else price * self.line.quantity


@dataclass(slots=True)
class ItemGroup:
    """Every platform line resolving to one ERP item, and the ERP lines for that item.

    Quantities compare per item, not per line: two SKUs may map to one item (a single and
    a pack of three), and either side may split an item over several lines.
    """

    item_no: str
    item: Item | None
    pairs: list[LinePair]
    erp_lines: list[ErpLine]
    #: The unit ERP quantities of this item should be in: the mapping's, else the item's
    #: base unit (worked out once the group is complete; see `settle`).
    expected_uom: str | None = None

    def settle(self) -> None:
        pairs = self.pairs
        if len(pairs) == 1:  # the common case, without a set
            mapping = pairs[0].mapping
            if mapping is not None and mapping.erp_uom:
                self.expected_uom = mapping.erp_uom
            elif self.item is not None:
                self.expected_uom = self.item.base_uom
            return
        uoms = {p.mapping.erp_uom for p in pairs if p.mapping and p.mapping.erp_uom}
        if uoms:
            self.expected_uom = min(uoms)
        elif self.item is not None:
            self.expected_uom = self.item.base_uom

    @property
    def label(self) -> str:
        """The SKU a finding on this item names: the smallest, so line order never matters."""
        return min(p.line.sku for p in self.pairs) if self.pairs else self.item_no

    @property
    def first(self) -> LinePair:
        """The pair for `label` (a group with no platform line has none: do not call)."""
        return min(self.pairs, key=lambda p: (p.line.sku, p.line.line_ref))


def same_ref(a: str | None, b: str | None) -> bool:
    """Order references compare without a leading '#' and case-insensitively ("#1001" = "1001")."""
    if a is None or b is None:
        return a is b
    if a == b:
        return True
    return a.lstrip("#").strip().casefold() == b.lstrip("#").strip().casefold()


class CaseView:
    __slots__ = (
        "active_credit_notes",
        "cancelled",
        "case",
        "changes_at",
        "ctx",
        "e",
        "edone",
        "erp_name",
        "groups",
        "p",
        "pairs",
        "pdone",
    )

    def __init__(self, case: ReturnCase, ctx: Context) -> None:
        self.case = case
        self.ctx = ctx
        #: The earliest moment the rules' answer for this return may differ with no change
        #: to its records (a grace running out, an age a message shows); None: never.
        self.changes_at: datetime | None = None
        self.p = p = case.platform
        self.e = e = case.erp
        self.erp_name = ctx.names.get(e.system, e.system)
        #: Stages each side has completed, with when.
        self.pdone = {s: view.at for s, view in p.stages.items() if view.status is DONE}
        self.edone = {s: view.at for s, view in e.stages.items() if view.status is DONE}
        auth = p.stages.get(AUTHORISED)
        self.cancelled = auth is not None and auth.status is FAILED
        notes = [cn for cn in e.credit_notes if cn.status != "cancelled"]
        if len(notes) > 1:
            notes.sort(key=lambda cn: (cn.status != "posted", cn.posted_at or ctx.now, cn.id))
            if any(cn.posted_at is None for cn in notes):
                # An undated note sorts as now: past a note dated later, the order changes.
                for cn in notes:
                    if cn.posted_at is not None and cn.posted_at >= ctx.now:
                        self.holds_until(cn.posted_at)
        #: Live credit notes, the one that counts first: posted before draft, oldest first.
        self.active_credit_notes: list[CreditNote] = notes
        master = ctx.master
        upper = master.items_ignore_case  # item numbers told apart upper-cased (item_key)
        item = master.item
        resolved, resolve = ctx.resolved, ctx.resolve
        groups: dict[str, ItemGroup] = {}
        pairs = []
        for line in p.lines:
            mapping, item_no, key, found = resolved.get(line.sku) or resolve(line.sku)
            group = groups.get(key)
            if group is None:
                group = groups[key] = ItemGroup(item_no, found, [], [])
            # A SKU no mapping resolves has no item, even if an item of that number exists.
            pair = LinePair(line, mapping, group.item if mapping else None)
            group.pairs.append(pair)
            pairs.append(pair)
        for erp_line in e.lines:
            item_no = erp_line.item_no
            key = item_no.upper() if upper else item_no
            group = groups.get(key)
            if group is None:
                group = groups[key] = ItemGroup(item_no, item(item_no), [], [])
            group.erp_lines.append(erp_line)
        for group in groups.values():
            group.settle()
        self.pairs = pairs
        self.groups = groups

    # -- helpers the rules share -------------------------------------------------------

    @property
    def credit_note(self) -> CreditNote | None:
        """The credit note that counts: the first posted one, else the first draft."""
        return self.active_credit_notes[0] if self.active_credit_notes else None

    def pstage(self, stage: Stage) -> StageView:
        return self.p.stages.get(stage) or _NOT_STARTED

    def estage(self, stage: Stage) -> StageView:
        return self.e.stages.get(stage) or _NOT_STARTED

    def customer(self) -> Customer | None:
        master = self.ctx.master
        if self.e.customer_ref:
            return master.customers.get(self.e.customer_ref)
        if self.p.customer_email:
            return master.customers_by_email.get(self.p.customer_email.casefold())
        return None

    def overdue(self, stage: Stage, since: datetime | None) -> bool | None:
        """None: no clock started; False: still within grace (a delay); True: past grace."""
        if since is None:
            return None
        grace = self.ctx.policy.grace[stage]
        if self.ctx.now - since > grace:
            return True
        self.holds_after(since, grace)
        return False

    # -- the clock: every rule that reads it says until when its answer holds ----------------

    def holds_until(self, moment: datetime) -> None:
        """What the rules say of this return holds while the clock is before `moment`."""
        if self.changes_at is None or moment < self.changes_at:
            self.changes_at = moment

    def holds_after(self, since: datetime, delta: timedelta) -> None:
        """`holds_until(since + delta)`, where a moment past the calendar's end never comes
        (a placeholder date far in the future, a very long grace)."""
        try:
            moment = since + delta
        except OverflowError:
            return
        self.holds_until(moment)

    def hours_since(self, since: datetime, places: int) -> float:
        """Hours from `since` to now, for a message that shows them with `places` decimals:
        that text holds until the figure next rounds differently (on a rounding tie, not
        even now)."""
        step = _ROUNDING_STEP[places]
        elapsed = self.ctx.now - since
        if elapsed % step:
            self.holds_after(since, (elapsed // step + 1) * step)
        else:
            self.holds_until(self.ctx.now)
        return hours(elapsed)

    def _fates_said(self) -> bool:
        """Whether the platform says, line by line, what went back on sale: a receipt made
        for it cannot be planned otherwise (domain/actions.py), so is not offered."""
        return all(line.restocked_quantity is not None
                   and line.not_restocked_quantity is not None for line in self.p.lines)

    def refund_total(self) -> Decimal | None:
        refund = self.p.refund
        return refund.total if refund else None

    def instead(self, key: str, default: str) -> str:
        """What to do in the ERP by hand for `key` (`CODE` or `CODE.case`), in the ERP's
        own words where its connector gives them."""
        return self.ctx.master.instead.get(key) or default

    def finding(
        self,
        code: Code,
        message: str,
        *,
        stage: Stage | None = None,
        line_ref: str | None = None,
        platform_value: object = None,
        erp_value: object = None,
        since: datetime | None = None,
        severity: Severity | None = None,
        owner: Owner | None = None,
        side: Side | None = None,
        component: str | None = None,
        amount: Decimal | None = None,
        currency: str | None = None,
        delay: bool = False,
        action: Action | None = None,
        todo: str | None = None,
    ) -> Finding:
        """A finding of `code`; `action`/`todo` override the catalogue's where a rule knows
        which of its actions fits this case (and what to do in the ERP when none does)."""
        entry = CATALOGUE[code]
        action = entry.action if action is None else action
        creates = self.ctx.master.creates
        if action is Action.REQUEUE_POSTING and creates is not None \
                and (REQUEUE_CREATES.get(code) not in creates
                     or (REQUEUE_CREATES.get(code) == "receipt" and not self._fates_said())):
            # Not offered where the ERP's API cannot create the record: say what to do there.
            action, todo = Action.NONE, self.ctx.master.instead.get(code) or entry.todo
        elif action is Action.FIX_REFERENCE and not self.ctx.master.fixes_links:
            action, todo = Action.NONE, self.ctx.master.instead.get(code) or entry.todo
        stage = stage or entry.stage or AUTHORISED
        now = self.ctx.now
        since = since or self.p.created_at or self.pstage(AUTHORISED).at
        if since is not None and since > now:
            self.holds_until(since)  # its age shows 0 until then
        refund = self.p.refund
        return Finding(
            code=code,
            stage=stage,
            kind=entry.kind,
            severity=severity or entry.severity,
            owner=owner or entry.owner or STAGE_OWNERS[stage],
            action=action,
            return_ref=self.p.return_ref,
            order_ref=self.p.order_ref,
            line_ref=line_ref,
            platform_value=_text(platform_value),
            erp_value=_text(erp_value),
            message=message,
            detected_at=now,
            age_hours=max(0.0, (now - since).total_seconds() / _HOUR) if since else 0.0,
            platform_system=self.p.system,
            erp_system=self.e.system,
            delay=delay,
            component=component,
            side=side,
            amount_at_risk=amount if amount is not None else self.refund_total(),
            currency=currency or (refund.currency if refund else self.p.currency),
            todo=todo,
            since=since,
        )


_NOT_STARTED = StageView()


def _text(value: object) -> str | None:
    if value is None:
        return None
    if isinstance(value, Decimal):
        return f"{value:f}"
    if isinstance(value, datetime):
        return value.isoformat().replace("+00:00", "Z")
    return str(value)


def hours(delta: timedelta) -> float:
    return delta.total_seconds() / _HOUR
