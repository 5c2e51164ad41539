"""Money arithmetic: every amount of a cart or an order, from one pure function.

Placeholder of the carts branch (subtotal and shipping only); the tax branch owns the
real module with discounts and tax. Same interface, so callers do not change.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal


@dataclass(frozen=True)
class PriceLine:
    unit_price: int
    quantity: int


@dataclass(frozen=True)
class DiscountRule:
    kind: Literal["percent", "fixed"]
    value: int  # basis points for percent, minor units for fixed


@dataclass(frozen=True)
class ShippingRate:
    price: int
    free_over: int | None = None


@dataclass(frozen=True)
class PricedLine:
    line_total: int
    discount_amount: int
    tax_amount: int


@dataclass(frozen=True)
class Totals:
    lines: tuple[PricedLine, ...]
    subtotal: int
    discount_total: int
    shipping_total: int
    shipping_tax: int
    tax_total: int
    total: int


def compute_totals(
    lines: Sequence[PriceLine],
    *,
    discount: DiscountRule | None = None,
    shipping: ShippingRate | None = None,
    tax_rate_bps: int = 0,
    prices_include_tax: bool = False,
    tax_shipping: bool = True,
) -> Totals:
    priced = tuple(PricedLine(line.unit_price * line.quantity, 0, 0) for line in lines)
    subtotal = sum(line.line_total for line in priced)
    shipping_total = 0
    if shipping is not None:
        free = shipping.free_over is not None and subtotal >= shipping.free_over
        shipping_total = 0 if free else shipping.price
    return Totals(priced, subtotal, 0, shipping_total, 0, 0, subtotal + shipping_total)
