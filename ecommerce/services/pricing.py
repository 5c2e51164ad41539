"""The one home for money: every total the shop shows or charges comes from here.

Pure arithmetic on integers in minor units: no I/O, no ORM objects, no floats. Carts,
direct orders, exports and reports all use :func:`compute_totals`; nothing recomputes money
elsewhere (Medusa #14817, Saleor #12348 and Vendure #2662 are what happens otherwise).

The rules (API.md "Totals"):

* ``subtotal = Σ unit_price * quantity``.
* A discount applies to the subtotal: percent (basis points, at most 10000) is
  ``round_half_up(subtotal * bps / 10000)``; fixed (minor units) is capped at the subtotal.
  It is spread over the lines in proportion to their totals by largest remainder: every
  line gets the floor of its exact share, and the cents left over go one each to the lines
  with the largest fractional parts (ties: the earlier line), so the parts add up exactly
  and no line is discounted below zero.
* Shipping is never discounted. A rate with ``free_over`` costs 0 when the *discounted*
  subtotal reaches it.
* Tax is computed per line on the discounted line total, and on shipping as its own line
  when ``tax_shipping``, each rounded half up to the minor unit:
  - prices exclude tax: ``tax = round_half_up(net * rate_bps / 10000)``;
  - prices include tax: the tax is the part the gross amount contains,
    ``tax = round_half_up(gross * rate_bps / (10000 + rate_bps))`` (net = gross - tax).
    E.g. 1999 at 19 %: 1999 * 1900 / 11900 = 319.16… → tax 319, net 1680.
* ``total = subtotal - discount_total + shipping_total + tax_total`` when prices exclude
  tax, ``subtotal - discount_total + shipping_total`` when they include it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

BPS = 10_000  # basis points in one whole: 1900 bps is 19 %


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


def round_half_up(numerator: int, denominator: int) -> int:
    """``numerator / denominator`` rounded half up, for a non-negative numerator.

    Integer-only: ``(2n + d) // 2d`` is ``floor(n/d + 1/2)``.
    """
    if numerator < 0 or denominator <= 0:
        raise ValueError("round_half_up takes a non-negative numerator and a positive denominator")
    return (2 * numerator + denominator) // (2 * denominator)


def allocate(amount: int, weights: Sequence[int]) -> tuple[int, ...]:
    """Split ``amount`` over ``weights`` in proportion, by largest remainder.

    The parts add up to ``amount`` exactly. With ``amount <= sum(weights)`` no part exceeds
    its weight (a part only gets the extra cent when its exact share has a fraction).
    """
    if amount < 0 or any(w < 0 for w in weights):
        raise ValueError("allocate takes non-negative amounts")
    total_weight = sum(weights)
    if total_weight == 0:
        if amount:
            raise ValueError("cannot allocate a positive amount over zero weights")
        return tuple(0 for _ in weights)
    floors = [amount * w // total_weight for w in weights]
    remainders = [amount * w % total_weight for w in weights]
    left = amount - sum(floors)
    # Largest fractional part first; on a tie the earlier line (stable, deterministic).
    order = sorted(range(len(weights)), key=lambda i: (-remainders[i], i))
    for i in order[:left]:
        floors[i] += 1
    return tuple(floors)


def discount_amount(subtotal: int, rule: DiscountRule | None) -> int:
    """The discount a rule gives on ``subtotal``: never negative, never above it."""
    if rule is None or subtotal == 0:
        return 0
    if rule.value < 0:
        raise ValueError("a discount value cannot be negative")
    if rule.kind == "percent":
        if rule.value > BPS:
            raise ValueError("a percent discount is at most 10000 basis points")
        return min(subtotal, round_half_up(subtotal * rule.value, BPS))
    if rule.kind == "fixed":
        return min(subtotal, rule.value)
    raise ValueError(f"unknown discount kind {rule.kind!r}")


def line_tax(amount: int, rate_bps: int, *, prices_include_tax: bool) -> int:
    """The tax on one line (or shipping) of ``amount`` minor units, rounded half up."""
    if rate_bps == 0 or amount == 0:
        return 0
    if prices_include_tax:
        return round_half_up(amount * rate_bps, BPS + rate_bps)
    return round_half_up(amount * rate_bps, BPS)


def shipping_cost(rate: ShippingRate | None, discounted_subtotal: int) -> int:
    """The shipping price: 0 without a rate, or when the discounted subtotal reaches free_over."""
    if rate is None:
        return 0
    if rate.price < 0 or (rate.free_over is not None and rate.free_over < 0):
        raise ValueError("shipping prices cannot be negative")
    if rate.free_over is not None and discounted_subtotal >= rate.free_over:
        return 0
    return rate.price


def compute_totals(
    lines: Sequence[PriceLine],
    *,
    discount: DiscountRule | None = None,
    shipping: ShippingRate | None = None,
    tax_rate_bps: int = 0,
    prices_include_tax: bool = False,
    tax_shipping: bool = True,
) -> Totals:
    """Every line's discount and tax, and the totals, by the rules in the module docstring."""
    if not 0 <= tax_rate_bps <= BPS:
        raise ValueError("a tax rate is between 0 and 10000 basis points")
    for line in lines:
        if line.unit_price < 0 or line.quantity < 0:
            raise ValueError("prices and quantities cannot be negative")
    line_totals = [line.unit_price * line.quantity for line in lines]
    subtotal = sum(line_totals)
    discount_total = discount_amount(subtotal, discount)
    discounts = allocate(discount_total, line_totals)
    priced = tuple(
        PricedLine(
            line_total=gross,
            discount_amount=part,
            tax_amount=line_tax(gross - part, tax_rate_bps, prices_include_tax=prices_include_tax),
        )
        for gross, part in zip(line_totals, discounts, strict=True)
    )
    shipping_total = shipping_cost(shipping, subtotal - discount_total)
    shipping_tax = (
        line_tax(shipping_total, tax_rate_bps, prices_include_tax=prices_include_tax)
        if tax_shipping
        else 0
    )
    tax_total = sum(p.tax_amount for p in priced) + shipping_tax
    total = subtotal - discount_total + shipping_total
    if not prices_include_tax:
        total += tax_total
    return Totals(
        lines=priced,
        subtotal=subtotal,
        discount_total=discount_total,
        shipping_total=shipping_total,
        shipping_tax=shipping_tax,
        tax_total=tax_total,
        total=total,
    )
