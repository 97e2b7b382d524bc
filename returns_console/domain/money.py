"""Money as Decimal with an ISO currency, split into the components a refund is made of.

Floats never enter: pydantic turns JSON numbers and strings into Decimal at the boundary, and
every sum here stays in Decimal so no cent is lost on the way.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Annotated

from pydantic import ConfigDict, Field, StringConstraints

from .codes import Component
from .slots import quick_init

ZERO = Decimal("0")

Currency = Annotated[str, StringConstraints(pattern=r"^[A-Z]{3}$")]

#: An amount: finite, at most 16 digits before the point and 6 after, so sums of a whole
#: ledger stay exact within Decimal's 28-digit precision.
Amount = Annotated[Decimal, Field(allow_inf_nan=False, max_digits=22, decimal_places=6)]


@dataclass(frozen=True, slots=True, kw_only=True)
class MoneyBreakdown:
    """A refund or credit, per component, in one currency.

    Every component is a non-negative magnitude in the same convention on both sides;
    discounts and fees reduce the total.
    """

    __pydantic_config__ = ConfigDict(extra="forbid")

    currency: Currency
    items: Amount = ZERO
    tax: Amount = ZERO
    shipping: Amount = ZERO
    discounts: Amount = ZERO
    fees: Amount = ZERO

    def component(self, component: Component) -> Decimal:
        return getattr(self, component.value)

    @property
    def total(self) -> Decimal:
        return self.items + self.tax + self.shipping - self.discounts - self.fees

    def __add__(self, other: MoneyBreakdown) -> MoneyBreakdown:
        if other.currency != self.currency:
            raise ValueError(f"cannot add {other.currency} to {self.currency}")
        return MoneyBreakdown(
            currency=self.currency,
            items=self.items + other.items,
            tax=self.tax + other.tax,
            shipping=self.shipping + other.shipping,
            discounts=self.discounts + other.discounts,
            fees=self.fees + other.fees,
        )


MoneyBreakdown.__init__ = quick_init(MoneyBreakdown)  # type: ignore[method-assign]

CENT = Decimal("0.01")
_ZERO_CENTS = Decimal("0.00")


def pad_cents(amount: Decimal) -> Decimal:
    """Show at least two decimals (APIs sending JSON numbers drop them: 4.8 → 4.80), never
    rounding away a digit that is there."""
    if not amount and not amount.is_signed():  # most components of most credits
        return _ZERO_CENTS
    if not amount.is_finite():
        return amount
    try:
        padded = amount.quantize(CENT)
    except InvalidOperation:  # too many digits to pad: leave it for validation to judge
        return amount
    return padded if padded == amount else amount  # never drop a digit that is there

