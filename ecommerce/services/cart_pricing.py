"""The money of a cart or an order about to be placed, through the one pricing module.

A cart's answer, its shipping options and its checkout all price through ``price`` here,
so what a customer sees is what the checkout charges. Tax rates and discount codes come
in through ``adjustments_for`` (their own branch fills it in); nothing else changes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from ecommerce.core.config import Settings
from ecommerce.models import ShippingMethod
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
    discount_code: str | None = None
    tax_rate_bps: int = 0


NO_ADJUSTMENTS = Adjustments()


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
) -> Adjustments:
    """The discount and tax rate that apply (none until tax rates and codes exist)."""
    return NO_ADJUSTMENTS


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
