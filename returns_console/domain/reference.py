"""What reconciliation checks against: the console's mapping tables, the ERP's master data
(items, customers, codes, accounting periods) and the profile's policy (tolerance, grace).
"""

from __future__ import annotations

import bisect
from datetime import date, timedelta
from decimal import Decimal
from functools import cached_property
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from .codes import Code, Stage
from .model import NonEmpty


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", defer_build=True)


class _Cached(BaseModel):
    """Frozen model that may memoise derived look-up tables (cached_property)."""

    model_config = ConfigDict(frozen=True, extra="forbid", ignored_types=(cached_property,),
                              defer_build=True)


def _keyed(value: object, key: str) -> object:
    """A list of records as a dict by `key`; anything else is left for validation to name
    (a malformed entry must become a validation error at its path, never a crash)."""
    if not isinstance(value, list):
        return value
    out = {}
    for entry in value:
        name = entry.get(key) if isinstance(entry, dict) else getattr(entry, key, None)
        if not isinstance(name, str) or name in out:
            return value  # pydantic then reports the list for what it is
        out[name] = entry
    return out


# ---------------------------------------------------------------- mappings (console-owned)


class SkuMapping(_Model):
    """Platform SKU → ERP item, with how many ERP units one platform unit is."""

    sku: NonEmpty
    item_no: NonEmpty
    factor: Annotated[
        Decimal, Field(gt=0, allow_inf_nan=False, max_digits=15, decimal_places=9)
    ] = Decimal(1)
    #: The ERP unit the converted quantity is in; None means the item's base unit.
    erp_uom: str | None = None
    #: How the ERP finds the item from `item_no`, in its own words (one of the ways its
    #: system declares, e.g. a barcode); None: by its item number, as the ERP does by default.
    match_by: str | None = None


class DispositionMapping(_Model):
    """Platform condition → ERP disposition code and the location that condition belongs in."""

    disposition: NonEmpty
    location: NonEmpty




class Mappings(_Cached):
    skus: dict[str, SkuMapping] = Field(default_factory=dict)
    reasons: dict[str, str] = Field(default_factory=dict)
    dispositions: dict[str, DispositionMapping] = Field(default_factory=dict)
    locations: dict[str, str] = Field(default_factory=dict)
    fees: dict[str, str] = Field(default_factory=dict)
    payment_methods: dict[str, str] = Field(default_factory=dict)
    #: When a SKU or code has no entry, try it unchanged as the ERP's own identifier.
    identity_fallback: bool = True

    @field_validator("skus", mode="before")
    @classmethod
    def _skus_from_list(cls, value: object) -> object:
        return _keyed(value, "sku")

    @cached_property
    def identity_skus(self) -> dict[str, SkuMapping]:
        return {}

    def sku(self, sku: str) -> SkuMapping | None:
        found = self.skus.get(sku)
        if found is None and self.identity_fallback:
            found = self.identity_skus.get(sku)
            if found is None:
                found = self.identity_skus[sku] = SkuMapping(sku=sku, item_no=sku)
        return found

    def code(self, table: dict[str, str], code: str) -> str | None:
        found = table.get(code)
        if found is None and self.identity_fallback:
            return code
        return found


# ---------------------------------------------------------------- ERP master data


class Item(_Model):
    number: NonEmpty
    blocked: bool = False
    base_uom: str | None = None
    type: Literal["inventory", "service", "non_inventory"] = "inventory"


CustomerBlocked = Literal["", "ship", "invoice", "all"]


class Customer(_Model):
    number: NonEmpty
    email: str | None = None
    blocked: CustomerBlocked = ""

    @property
    def can_be_credited(self) -> bool:
        return self.blocked not in ("invoice", "all")


class AccountingPeriod(_Model):
    start: date
    name: str | None = None
    closed: bool = False


class ErpMaster(_Cached):
    items: dict[str, Item] = Field(default_factory=dict)
    customers: dict[str, Customer] = Field(default_factory=dict)
    locations: frozenset[str] = frozenset()
    reasons: frozenset[str] = frozenset()
    #: False: the ERP keeps no list of return reasons (or it could not be read), so a
    #: platform reason is not checked against one.
    reasons_kept: bool = True
    payment_methods: frozenset[str] = frozenset()
    periods: tuple[AccountingPeriod, ...] = ()
    #: The ERP's own rule for item numbers: matched without regard to case (Business
    #: Central's Code fields are upper-case), so a SKU `hood-gry-m` is item `HOOD-GRY-M`.
    items_ignore_case: bool = False
    #: The records the ERP's API lets a re-queue create (`return_order`, `receipt`,
    #: `credit_note`, `exchange_order`); None: not known (a snapshot), the catalogue's
    #: actions stand.
    creates: frozenset[str] | None = None
    #: Where the API cannot create a record: what to do in the ERP instead, by code.
    instead: dict[str, str] = Field(default_factory=dict)
    #: Codes this ERP cannot show as it was read (what it does not report, see
    #: catalogue.HIDDEN_BY): not checked, so a stage it cannot see is never a missing
    #: document. Its source status says what is not seen.
    unobservable: frozenset[Code] = frozenset()
    #: The one customer account every return is made against, where the ERP names no
    #: customer of its own to the console (a channel's configured account); None: each
    #: return's customer is looked up.
    sole_customer: str | None = None
    #: The way `items` are named (in the ERP's words, e.g. its stock code): a SKU mapped to
    #: an item found another way (a barcode) cannot be checked against them; None: items
    #: are named the one way the ERP has.
    items_by: str | None = None
    #: How the ERP finds an item a mapping names without saying how (the profile's way);
    #: None: by the way `items` are named.
    item_way: str | None = None
    #: False: no call of the ERP's API changes the reference a record carries (the
    #: finding then says, from `instead`, what to do in the ERP; fix reference not offered).
    fixes_links: bool = True

    def checks_item(self, mapping: SkuMapping | None) -> bool:
        """Whether the item `mapping` names can be looked up in `items`."""
        way = (mapping.match_by if mapping is not None else None) or self.item_way
        return self.items_by is None or way is None or way == self.items_by

    def item_key(self, number: str) -> str:
        """How the ERP tells item numbers apart (upper-cased where case does not count)."""
        return number.upper() if self.items_ignore_case else number

    @cached_property
    def _items_by_key(self) -> dict[str, Item]:
        return {self.item_key(n): i for n, i in self.items.items()}

    def item(self, number: str) -> Item | None:
        """The item the ERP would find for `number`, by its own matching rule."""
        found = self.items.get(number)
        if found is None and self.items_ignore_case:
            found = self._items_by_key.get(number.upper())
        return found

    @field_validator("items", "customers", mode="before")
    @classmethod
    def _keyed_by_number(cls, value: object) -> object:
        return _keyed(value, "number")

    @cached_property
    def customers_by_email(self) -> dict[str, Customer]:
        return {c.email.casefold(): c for c in self.customers.values() if c.email}

    @cached_property
    def _period_starts(self) -> tuple[list[date], list[AccountingPeriod]]:
        ordered = sorted(self.periods, key=lambda p: p.start)
        return [p.start for p in ordered], ordered

    def period_for(self, day: date) -> AccountingPeriod | None:
        """The period a date falls in: the last one starting on or before it."""
        starts, ordered = self._period_starts
        i = bisect.bisect_right(starts, day)
        return ordered[i - 1] if i else None


# ---------------------------------------------------------------- policy (per profile)

DEFAULT_GRACE_HOURS: dict[Stage, float] = {
    Stage.AUTHORISED: 1,
    Stage.IN_TRANSIT: 14 * 24,
    Stage.RECEIVED: 24,
    Stage.INSPECTED: 72,
    Stage.CREDITED: 24,
    Stage.EXCHANGED: 24,
    Stage.RESTOCKED: 1,
}


class Policy(_Cached):
    """How strict to be: money tolerance, grace per stage, when overdue becomes serious."""

    tolerance: Annotated[
        Decimal, Field(ge=0, allow_inf_nan=False, max_digits=22, decimal_places=6)
    ] = Decimal(0)
    #: Up to ten years: beyond that a grace period is a typo, not a policy.
    grace_hours: dict[Stage, Annotated[float, Field(ge=0, le=87_600)]] = Field(
        default_factory=lambda: dict(DEFAULT_GRACE_HOURS)
    )
    #: STAGE_OVERDUE is low past the grace period, medium past grace × the first factor,
    #: high past grace × the second.
    overdue_medium_factor: Annotated[float, Field(gt=1, le=1000)] = 3
    overdue_high_factor: Annotated[float, Field(gt=1, le=1000)] = 7

    @field_validator("grace_hours", mode="after")
    @classmethod
    def _fill_defaults(cls, value: dict[Stage, float]) -> dict[Stage, float]:
        return {**DEFAULT_GRACE_HOURS, **value}

    @cached_property
    def grace(self) -> dict[Stage, timedelta]:
        return {stage: timedelta(hours=h) for stage, h in self.grace_hours.items()}
