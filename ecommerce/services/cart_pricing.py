"""The money of a cart or an order about to be placed, through the one pricing module.

A cart's answer, its shipping options and its checkout all price through ``price`` here,
so what a customer sees is what the checkout charges. Tax rates and discount codes come
in through ``adjustments_for``: the destination country's rate and the code's rule.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from ecommerce.core.config import Settings
from ecommerce.models import Order, ShippingMethod
from ecommerce.repositories import pricing_inputs
from ecommerce.services import discounts
from ecommerce.services.discounts import DiscountNotApplicable
from ecommerce.services.pricing import (
    DiscountRule,
    PriceLine,
    ShippingRate,
    Totals,
    compute_totals,
)


@dataclass(frozen=True)
class Adjustments:
    """What changes a price besides the catalog and shipping: a discount, the tax rate."""

    discount: DiscountRule | None = None
    discount_code: str | None = None  # as the admin spelled it
    tax_rate_bps: int = 0
    # What taking a use of the code at checkout needs (see ``take_use_for``).
    discount_id: int | None = None
    per_customer_limit: int | None = None


def destination_country(
    shipping_address: Mapping[str, Any] | None, billing_address: Mapping[str, Any] | None
) -> str | None:
    """Where the goods go for tax: the shipping country, else the billing country."""
    for address in (shipping_address, billing_address):
        if address is not None:
            country: str = address["country"]
            return country
    return None


async def adjustments_for(
    session: AsyncSession,
    settings: Settings,
    *,
    country: str | None,
    discount_code: str | None,
    user_id: int | None,
    subtotal: int,
    email: str | None = None,
    at_checkout: bool = False,
) -> Adjustments:
    """The tax rate of ``country`` (None: the store's) and the code's discount, if it
    applies (see ``shipping_and_adjustments``)."""
    _, adjustments = await shipping_and_adjustments(
        session,
        settings,
        method_id=None,
        ship_country=None,
        country=country,
        discount_code=discount_code,
        user_id=user_id,
        subtotal=subtotal,
        email=email,
        at_checkout=at_checkout,
    )
    return adjustments


async def shipping_and_adjustments(
    session: AsyncSession,
    settings: Settings,
    *,
    method_id: int | None,
    ship_country: str | None,
    country: str | None,
    discount_code: str | None,
    user_id: int | None,
    subtotal: int,
    email: str | None = None,
    at_checkout: bool = False,
) -> tuple[ShippingMethod | None, Adjustments]:
    """The chosen method if it still ships to ``ship_country``, and the adjustments: the
    tax rate of ``country`` (None: the store's) and the code's discount, if it applies.
    One round trip reads all three (repositories/pricing_inputs.py).

    ``user_id``: the signed-in buyer, whose uses of the code count (else the guest's
    ``email``); the same buyer the checkout takes the use for.

    Shown on a cart, a code that does not apply now (expired, below its minimum, ...) is
    simply not applied: the cart keeps it and shows no discount. At checkout it is refused
    with the reason (422; used up: 409), so nothing is reserved or charged.
    """
    inputs = await pricing_inputs.load(
        session,
        method_id=method_id,
        ship_country=ship_country,
        tax_country=country or settings.store_country,
        code=discount_code,
    )
    rate = inputs.tax_rate_bps or 0
    if discount_code is None:
        return inputs.method, Adjustments(tax_rate_bps=rate)
    try:
        discount = await discounts.applicable(
            session,
            inputs.discount,
            subtotal=subtotal,
            now=datetime.now(UTC),
            user_id=user_id,
            email=email,
            at_checkout=at_checkout,
        )
    except DiscountNotApplicable:
        if at_checkout:
            raise
        return inputs.method, Adjustments(tax_rate_bps=rate)
    return inputs.method, Adjustments(
        discount=discounts.rule_of(discount),
        discount_code=discount.code,
        tax_rate_bps=rate,
        discount_id=discount.id,
        per_customer_limit=discount.per_customer_limit,
    )


async def take_use_for(
    session: AsyncSession,
    adjustments: Adjustments,
    *,
    order: Order,
    user_id: int | None,
    email: str | None,
) -> None:
    """Take the use of the order's code inside its transaction: 409 when it was used up
    or its terms changed since the order was priced (422 when it stopped applying)."""
    if adjustments.discount_id is None or adjustments.discount is None:
        return
    await discounts.take_use(
        session,
        discount_id=adjustments.discount_id,
        per_customer_limit=adjustments.per_customer_limit,
        order_id=order.id,
        user_id=user_id,
        email=email,
        priced=adjustments.discount,
        subtotal=order.subtotal,
    )


def shipping_rate(method: ShippingMethod | None) -> ShippingRate | None:
    return None if method is None else ShippingRate(method.price, method.free_over)


def price(
    lines: Sequence[PriceLine],
    shipping: ShippingMethod | None,
    adjustments: Adjustments,
    settings: Settings,
) -> Totals:
    """Every amount of these lines shipped by ``shipping`` (None: not shipped)."""
    return compute_totals(
        lines,
        discount=adjustments.discount,
        shipping=shipping_rate(shipping),
        tax_rate_bps=adjustments.tax_rate_bps,
        prices_include_tax=settings.prices_include_tax,
        tax_shipping=settings.tax_shipping,
    )


def shipping_price(
    lines: Sequence[PriceLine],
    method: ShippingMethod,
    adjustments: Adjustments,
    settings: Settings,
) -> int:
    """What ``method`` costs for these lines (0 once their discounted subtotal is free_over)."""
    return price(lines, method, adjustments, settings).shipping_total
